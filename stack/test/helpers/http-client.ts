/** Small fetch wrappers for the REST API: JSON in, status and parsed JSON out. */
export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function postJson<T = Record<string, unknown>>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

export async function getJson<T = Record<string, unknown>>(url: string, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

export async function createSession(httpUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await postJson<{ session_id: string }>(`${httpUrl}/chat/session`, {
    customer_name: 'Ada Traveller',
    customer_email: 'ada@example.com',
    ...extra,
  });
  if (response.status !== 200) throw new Error(`session create failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.session_id;
}
