import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../lib/errors.js';
import { declareOptions, is, validateOptions } from '../../lib/options.js';

interface Sample {
  readonly name: string;
  readonly size?: number;
}

const SAMPLE = declareOptions<Sample>()({
  name: { doc: 'a name', required: true, valid: is.nonEmptyString, rule: 'be a non-empty string' },
  size: { doc: 'a size', default: '1', valid: is.integer(1, 9), rule: 'be an integer from 1 to 9' },
});

describe('validateOptions', () => {
  it('sorts every problem into missing / invalid / unknown lists, naming the option', () => {
    const error = (() => {
      try {
        validateOptions('sample(options)', SAMPLE, { size: 10, sise: 2 });
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect({ missing: error.missing, invalid: error.invalid, unknown: error.unknown }).toEqual({
      missing: ['"name" is required'],
      invalid: ['"size" must be an integer from 1 to 9'],
      unknown: ['unknown option "sise" (known: name, size)'],
    });
    expect(error.message).toBe(
      'sample(options): "name" is required; "size" must be an integer from 1 to 9; unknown option "sise" (known: name, size)',
    );
  });

  it('returns valid options unchanged and lists nothing on a plain-string error', () => {
    expect(validateOptions('sample', SAMPLE, { name: 'n' })).toEqual({ name: 'n' });
    const plain = new ConfigurationError('c', 'p');
    expect([plain.missing, plain.invalid, plain.unknown]).toEqual([['p'], [], []]);
  });

  it('ties the declaration to the interface: a missing or an extra key does not compile', () => {
    // @ts-expect-error size is not declared
    declareOptions<Sample>()({ name: { doc: 'a name' } });
    // @ts-expect-error extra is not an option of Sample
    declareOptions<Sample>()({ name: { doc: 'a name' }, size: { doc: 'a size' }, extra: { doc: 'x' } });
    expect(true).toBe(true);
  });
});
