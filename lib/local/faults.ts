import { LocalServiceError } from './http.js';

/** Latency per call, fixed or per operation. */
export type LatencySetting = number | ((operation: string) => number);

/** Fault injection of a local endpoint: latency, throttling and errors, per operation or for all. */
export interface FaultControls {
  /** Every call waits this long before it is answered (milliseconds). `0` turns it off. */
  setLatency(latency: LatencySetting): void;
  /** The next `times` calls (of `operation`, or of any operation) answer `ThrottlingException`. */
  throttle(times: number, operation?: string): void;
  /**
   * The next `times` calls (of `operation`, or any) answer the given error (default: a 500 of the service's
   * documented server error type: `InternalServerException` for the Scheduler, `InternalException` for EventBridge).
   */
  failNext(times: number, error?: { operation?: string; type?: string; status?: number; message?: string }): void;
  /** Removes every pending fault and the latency. */
  clearFaults(): void;
}

interface Fault {
  remaining: number;
  readonly operation?: string;
  readonly error: LocalServiceError;
}

/** The fault injector an endpoint consults before each call. */
export interface Faults extends FaultControls {
  /** Waits the latency, then throws the first pending fault that matches `operation`, if any. */
  before(operation: string): Promise<void>;
}

/**
 * Creates a {@link Faults} whose throttling error has the given HTTP status (EventBridge uses 400, Scheduler 429)
 * and whose injected 500 has the service's documented type (`serverErrorType`).
 */
export function createFaults(
  initialLatency: LatencySetting = 0,
  throttleStatus = 400,
  serverErrorType = 'InternalServerException',
): Faults {
  let latency: LatencySetting = initialLatency;
  let faults: Fault[] = [];
  return {
    setLatency(value) {
      latency = value;
    },
    throttle(times, operation) {
      faults.push({
        remaining: times,
        operation,
        error: new LocalServiceError('ThrottlingException', 'Rate exceeded', throttleStatus),
      });
    },
    failNext(times, error = {}) {
      faults.push({
        remaining: times,
        operation: error.operation,
        error: new LocalServiceError(
          error.type ?? serverErrorType,
          error.message ?? 'Injected failure',
          error.status ?? 500,
        ),
      });
    },
    clearFaults() {
      faults = [];
      latency = 0;
    },
    async before(operation) {
      const ms = typeof latency === 'function' ? latency(operation) : latency;
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      const fault = faults.find((f) => f.remaining > 0 && (f.operation === undefined || f.operation === operation));
      if (!fault) return;
      fault.remaining--;
      faults = faults.filter((f) => f.remaining > 0);
      throw fault.error;
    },
  };
}
