import { jest } from '@jest/globals';

/** One EMF document as Powertools Metrics writes it (the `_aws` directive plus the values and dimensions). */
export type EmfDocument = Record<string, any> & {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
};

/** Runs `fn` and returns the EMF documents Powertools wrote to stdout meanwhile (other output is dropped). */
export async function emfLines(fn: () => Promise<unknown>): Promise<EmfDocument[]> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return written
    .flatMap((w) => w.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as EmfDocument);
}

/** Every value of `metric` across `docs` (a metric with more than 100 values spreads over several documents). */
export function emfValues(docs: readonly EmfDocument[], metric: string): number[] {
  return docs.flatMap((d) => (metric in d ? [d[metric]].flat() : [])) as number[];
}

/** The sum of every value of `metric` across `docs` (0 when it was not emitted). */
export function emfSum(docs: readonly EmfDocument[], metric: string): number {
  return emfValues(docs, metric).reduce((a, b) => a + b, 0);
}
