/** Request validation of the local Scheduler, with the service's limits and messages. */
import { LocalServiceError } from './http.js';
import { isTimeZone, parseScheduleExpression, type ScheduleExpression } from './schedule-expression.js';
import { SCHEDULER_NAME_PATTERN } from '../job-record/schedule-name.js';

/** A schedule definition as CreateSchedule/UpdateSchedule carry it (wire field names). */
export interface ScheduleDefinition {
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone?: string;
  readonly StartDate?: number;
  readonly EndDate?: number;
  readonly Description?: string;
  readonly State: 'ENABLED' | 'DISABLED';
  readonly KmsKeyArn?: string;
  readonly ActionAfterCompletion: 'NONE' | 'DELETE';
  readonly FlexibleTimeWindow: { readonly Mode: 'OFF' | 'FLEXIBLE'; readonly MaximumWindowInMinutes?: number };
  readonly Target: {
    readonly Arn: string;
    readonly RoleArn: string;
    readonly Input?: string;
    readonly RetryPolicy?: { readonly MaximumRetryAttempts?: number; readonly MaximumEventAgeInSeconds?: number };
    readonly DeadLetterConfig?: { readonly Arn?: string };
    readonly [other: string]: unknown;
  };
}

/** Schedule and group names: 1–64 characters of `[0-9a-zA-Z-_.]`. */
export const NAME_PATTERN = SCHEDULER_NAME_PATTERN;
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SQS_ARN = /^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9\-_]+$/;

const invalid = (message: string): LocalServiceError => new LocalServiceError('ValidationException', message, 400);

/** Throws ValidationException unless `name` is a valid schedule or group name. */
export function checkName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name))
    throw invalid(
      `1 validation error detected: Value '${name}' at '${what}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$ and length 1-64`,
    );
}

const isInt = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Validates a CreateSchedule / UpdateSchedule body and returns it typed with its parsed expression. */
export function validateDefinition(body: Record<string, unknown>): {
  definition: ScheduleDefinition;
  expression: ScheduleExpression;
} {
  const problems: string[] = [];
  const expr = body.ScheduleExpression;
  let expression: ScheduleExpression | undefined;
  if (typeof expr !== 'string' || expr.length < 1 || expr.length > 256)
    problems.push('ScheduleExpression is required (1-256 characters)');
  else {
    try {
      expression = parseScheduleExpression(expr);
    } catch (error) {
      problems.push(`Invalid Schedule Expression ${expr}: ${(error as Error).message}`);
    }
  }
  const tz = body.ScheduleExpressionTimezone;
  if (tz !== undefined && (typeof tz !== 'string' || tz.length > 50 || !isTimeZone(tz)))
    problems.push(`Invalid ScheduleExpressionTimezone ${String(tz)}`);
  const ftw = body.FlexibleTimeWindow as ScheduleDefinition['FlexibleTimeWindow'] | undefined;
  if (!ftw || (ftw.Mode !== 'OFF' && ftw.Mode !== 'FLEXIBLE'))
    problems.push('FlexibleTimeWindow.Mode must be OFF or FLEXIBLE');
  else if (ftw.Mode === 'FLEXIBLE' && !isInt(ftw.MaximumWindowInMinutes, 1, 1440))
    problems.push('FlexibleTimeWindow.MaximumWindowInMinutes must be 1-1440 when Mode is FLEXIBLE');
  else if (ftw.Mode === 'OFF' && ftw.MaximumWindowInMinutes !== undefined)
    problems.push('FlexibleTimeWindow.MaximumWindowInMinutes must not be set when Mode is OFF');
  const state = body.State ?? 'ENABLED';
  if (state !== 'ENABLED' && state !== 'DISABLED') problems.push('State must be ENABLED or DISABLED');
  const after = body.ActionAfterCompletion ?? 'NONE';
  if (after !== 'NONE' && after !== 'DELETE') problems.push('ActionAfterCompletion must be NONE or DELETE');
  if (body.Description !== undefined && (typeof body.Description !== 'string' || body.Description.length > 512))
    problems.push('Description is at most 512 characters');
  if (body.StartDate !== undefined && typeof body.StartDate !== 'number')
    problems.push('StartDate must be a timestamp');
  if (body.EndDate !== undefined && typeof body.EndDate !== 'number') problems.push('EndDate must be a timestamp');
  if (typeof body.StartDate === 'number' && typeof body.EndDate === 'number' && body.EndDate <= body.StartDate)
    problems.push('EndDate must be after StartDate');
  if (
    body.ClientToken !== undefined &&
    (typeof body.ClientToken !== 'string' || !/^[a-zA-Z0-9-_]{1,64}$/.test(body.ClientToken))
  )
    problems.push('ClientToken must be 1-64 characters of [a-zA-Z0-9-_]');
  const target = body.Target as ScheduleDefinition['Target'] | undefined;
  if (!target || typeof target !== 'object') problems.push('Target is required');
  else {
    if (typeof target.Arn !== 'string' || target.Arn.length < 1 || target.Arn.length > 1600)
      problems.push('Target.Arn is required (1-1600 characters)');
    if (typeof target.RoleArn !== 'string' || !ROLE_ARN.test(target.RoleArn))
      problems.push(`Target.RoleArn ${String(target.RoleArn)} is not an IAM role ARN`);
    if (
      target.Input !== undefined &&
      (typeof target.Input !== 'string' || target.Input.length < 1 || target.Input.length > 8192)
    )
      problems.push('Target.Input must be 1-8192 characters');
    const rp = target.RetryPolicy;
    if (rp?.MaximumRetryAttempts !== undefined && !isInt(rp.MaximumRetryAttempts, 0, 185))
      problems.push('Target.RetryPolicy.MaximumRetryAttempts must be 0-185');
    if (rp?.MaximumEventAgeInSeconds !== undefined && !isInt(rp.MaximumEventAgeInSeconds, 60, 86400))
      problems.push('Target.RetryPolicy.MaximumEventAgeInSeconds must be 60-86400');
    const dlq = target.DeadLetterConfig?.Arn;
    if (dlq !== undefined && (typeof dlq !== 'string' || !SQS_ARN.test(dlq)))
      problems.push(`Target.DeadLetterConfig.Arn ${String(dlq)} is not an SQS queue ARN`);
  }
  if (problems.length > 0 || !expression) throw invalid(problems.join('; '));
  return {
    definition: {
      ScheduleExpression: expr as string,
      ...(tz ? { ScheduleExpressionTimezone: tz as string } : {}),
      ...(body.StartDate !== undefined ? { StartDate: body.StartDate as number } : {}),
      ...(body.EndDate !== undefined ? { EndDate: body.EndDate as number } : {}),
      ...(body.Description !== undefined ? { Description: body.Description as string } : {}),
      ...(body.KmsKeyArn !== undefined ? { KmsKeyArn: body.KmsKeyArn as string } : {}),
      State: state as ScheduleDefinition['State'],
      ActionAfterCompletion: after as ScheduleDefinition['ActionAfterCompletion'],
      FlexibleTimeWindow: ftw!,
      Target: target!,
    },
    expression,
  };
}
