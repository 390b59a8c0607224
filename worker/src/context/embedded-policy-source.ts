import MiniSearch from 'minisearch';
import { loadPolicyCorpus, type PolicyCorpus, type PolicyPassage } from './policy-corpus.js';
import { expandQuery, indexTerm, tokenize } from './search-terms.js';
import type { PolicyHit, PolicySource } from './types.js';

export interface EmbeddedPolicySourceOptions {
  /** The corpus; default: `loadPolicyCorpus()` (worker/data/policies/*.md). */
  corpus?: PolicyCorpus;
  /** Most passages of one document in one answer, so one long document cannot crowd out the rest; default 2. */
  maxPerDocument?: number;
  /** Longest snippet, characters, cut at a sentence end; default 900. */
  maxSnippetChars?: number;
}

/** BM25+ field weights: a matching section heading says most about a passage. */
const BOOST = { heading: 2, docTitle: 1.5, text: 1 } as const;

/**
 * Policy search in process: the default when `RETRIEVAL_URL` is unset. The passages of the
 * bundled corpus are indexed at construction with MiniSearch (BM25+ ranking) over stemmed,
 * stop-word-free terms; questions are expanded with the corpus's words (`search-terms.ts`).
 */
export class EmbeddedPolicySource implements PolicySource {
  /** The bundled data, searched on this thread. */
  readonly inProcess = true;
  readonly corpus: PolicyCorpus;
  private readonly index: MiniSearch<PolicyPassage>;
  private readonly byId: ReadonlyMap<string, PolicyPassage>;
  private readonly maxPerDocument: number;
  private readonly maxSnippetChars: number;

  constructor(options: EmbeddedPolicySourceOptions = {}) {
    this.corpus = options.corpus ?? loadPolicyCorpus();
    this.maxPerDocument = options.maxPerDocument ?? 2;
    this.maxSnippetChars = options.maxSnippetChars ?? 900;
    this.index = new MiniSearch<PolicyPassage>({
      idField: 'id',
      fields: ['docTitle', 'heading', 'text'],
      tokenize: (text) => tokenize(text),
      processTerm: (term) => indexTerm(term),
      searchOptions: {
        boost: { ...BOOST },
        // Query terms arrive already folded, expanded and stemmed (see `search`).
        tokenize: (text) => text.split(' ').filter(Boolean),
        processTerm: (term) => term,
        fuzzy: (term) => (term.length >= 6 ? 1 : false),
        weights: { fuzzy: 0.3, prefix: 0.3 },
        combineWith: 'OR',
      },
    });
    this.index.addAll(this.corpus.passages);
    this.byId = new Map(this.corpus.passages.map((p) => [p.id, p]));
  }

  /** Data version of the corpus (a hash of every file). */
  get version(): string {
    return this.corpus.version;
  }

  async search(q: string, k: number, signal?: AbortSignal): Promise<PolicyHit[]> {
    signal?.throwIfAborted();
    const terms = queryTerms(q);
    if (terms.length === 0 || k <= 0) return [];
    const perDocument = new Map<string, number>();
    const hits: PolicyHit[] = [];
    for (const result of this.index.search(terms.join(' '))) {
      const passage = this.byId.get(String(result.id));
      if (!passage) continue;
      const used = perDocument.get(passage.source) ?? 0;
      if (used >= this.maxPerDocument) continue;
      perDocument.set(passage.source, used + 1);
      hits.push({
        title: passage.title,
        snippet: clip(passage.text, this.maxSnippetChars),
        source: passage.source,
        category: passage.category,
        score: Math.round(result.score * 1000) / 1000,
      });
      if (hits.length >= k) break;
    }
    return hits;
  }
}

/** The question's distinct index terms after expansion. */
export function queryTerms(q: string): string[] {
  const seen = new Set<string>();
  for (const word of expandQuery(q)) {
    const term = indexTerm(word);
    if (term) seen.add(term);
  }
  return [...seen];
}

/** The text up to `max` characters, ended at the last full sentence that fits. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const end = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('! '), cut.lastIndexOf('? '));
  return end > max / 3 ? cut.slice(0, end + 1) : `${cut.slice(0, cut.lastIndexOf(' ')).trimEnd()}…`;
}
