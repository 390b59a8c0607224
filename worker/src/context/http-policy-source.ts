import { Type } from '@sinclair/typebox';
import { compileValidator } from '@chat/shared';
import { endpoint, postJson, SourceResponseError } from './http-json.js';
import { PolicyHitSchema, type PolicyHit, type PolicySource } from './types.js';

export interface HttpPolicySourceOptions {
  /** RETRIEVAL_URL: the service's base URL; the search is `POST {baseUrl}/search`. */
  baseUrl: string;
  /** Extra request headers, for example `authorization`; default none. */
  headers?: Readonly<Record<string, string>>;
  /** Largest response accepted, bytes; default 1 MiB. */
  maxResponseBytes?: number;
}

/** `{results: [{title, snippet, source, category?, score}]}`; extra fields are ignored. */
const SearchResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      title: PolicyHitSchema.properties.title,
      snippet: PolicyHitSchema.properties.snippet,
      source: PolicyHitSchema.properties.source,
      category: Type.Optional(PolicyHitSchema.properties.category),
      score: PolicyHitSchema.properties.score,
    }),
    { maxItems: 100 },
  ),
});
const validateSearchResponse = compileValidator(SearchResponse);

/**
 * Policy search through a retrieval service: `POST {RETRIEVAL_URL}/search {q, k}` →
 * `{results: [...]}`, validated. Throws on any failure (HTTP status, bad body); the resilience
 * layer turns that into a degraded answer. Timeouts come from the caller's signal.
 */
export class HttpPolicySource implements PolicySource {
  private readonly url: URL;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: HttpPolicySourceOptions) {
    this.url = endpoint(options.baseUrl, 'search');
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
  }

  async search(q: string, k: number, signal?: AbortSignal): Promise<PolicyHit[]> {
    const { body } = await postJson(this.url, { q, k }, signal ?? new AbortController().signal, {
      maxResponseBytes: this.maxResponseBytes,
      ...(this.options.headers ? { headers: this.options.headers } : {}),
    });
    const checked = validateSearchResponse(body);
    if (!checked.ok) {
      throw new SourceResponseError(`/search answered an invalid body: ${checked.fields.map((f) => `${f.field} ${f.message}`).join('; ')}`);
    }
    return checked.value.results
      .map((r) => ({ title: r.title, snippet: r.snippet, source: r.source, category: r.category ?? 'general', score: r.score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, Math.max(0, k));
  }
}
