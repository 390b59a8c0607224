import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema, Static } from '@sinclair/typebox';
import type { FieldError } from '../errors.js';
import { PRINTABLE_PATTERN, CancelInFrame, CancelTurnBody, ChatInFrame, ResumeInFrame, CreateSessionBody, OutFrame, SendMessageBody, TurnJobData } from './schemas.js';

/** A compiled validator: returns the typed value, or the list of bad fields. */
export type Validator<T> = (value: unknown) => { ok: true; value: T } | { ok: false; fields: FieldError[] };

const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false, removeAdditional: false });
// ajv-formats is CommonJS; under NodeNext its plugin function is reached through `.default`.
addFormats.default(ajv, ['email', 'date']);
ajv.addKeyword('kind').addKeyword('modifier');

export function compileValidator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (value: unknown) => {
    if (validate(value)) return { ok: true, value: value as Static<S> };
    return { ok: false, fields: toFieldErrors(validate.errors ?? []) };
  };
}

/** Turns ajv's errors into one entry per bad field, in words a client developer can act on. */
export function toFieldErrors(errors: ErrorObject[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    let field = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
    let message = err.message ?? 'is invalid';
    if (err.keyword === 'required') {
      field = field ? `${field}.${String(err.params.missingProperty)}` : String(err.params.missingProperty);
      message = 'is required';
    } else if (err.keyword === 'additionalProperties') {
      field = field ? `${field}.${String(err.params.additionalProperty)}` : String(err.params.additionalProperty);
      message = 'is not an allowed field';
    } else if (err.keyword === 'pattern' && err.params.pattern === PRINTABLE_PATTERN) {
      message = 'must be printable text (no control characters or line breaks)';
    } else if (err.keyword === 'format') {
      message = `must be a valid ${String(err.params.format)}`;
    }
    if (!field) field = '(body)';
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field, message });
  }
  return out;
}

/** Validators for the protocol, compiled once when this module loads. */
export const validators = {
  createSession: compileValidator(CreateSessionBody),
  sendMessage: compileValidator(SendMessageBody),
  chatFrame: compileValidator(ChatInFrame),
  cancelFrame: compileValidator(CancelInFrame),
  resumeFrame: compileValidator(ResumeInFrame),
  cancelTurn: compileValidator(CancelTurnBody),
  outFrame: compileValidator(OutFrame),
  turnJob: compileValidator(TurnJobData),
} as const;
