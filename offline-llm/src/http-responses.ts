import type { ServerResponse } from 'node:http';

/** OpenAI's error body; clients (the official one included) read `error.message` and `error.code`. */
export interface OpenAiErrorBody {
  error: {
    message: string;
    type: 'invalid_request_error' | 'server_error';
    /** The offending parameter (`messages[0].role`), or null. */
    param: string | null;
    code: string | null;
  };
}

/** A refused request: its status and body fields. */
export interface ApiError {
  status: number;
  message: string;
  param: string | null;
  code: string | null;
}

export function apiError(status: number, message: string, param: string | null = null, code: string | null = null): ApiError {
  return { status, message, param, code };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

export function sendError(res: ServerResponse, error: ApiError, headers: Record<string, string> = {}): void {
  const body: OpenAiErrorBody = {
    error: {
      message: error.message,
      type: error.status >= 500 ? 'server_error' : 'invalid_request_error',
      param: error.param,
      code: error.code,
    },
  };
  sendJson(res, error.status, body, headers);
}
