/**
 * OpenAI's chat-completion wire format: the SSE chunks of a streamed answer and the body of a
 * non-streamed one. Everything constant within one stream (id, created, model, fingerprint) is
 * encoded once when the stream starts; a content chunk is then two string concatenations around
 * the JSON of its token.
 */

export const SYSTEM_FINGERPRINT = 'fp_offline';

export type FinishReason = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** The end of every SSE stream. */
export const SSE_DONE = 'data: [DONE]\n\n';

/** Identity of one completion, shared by all of its chunks. */
export interface CompletionIdentity {
  /** `chatcmpl-...` */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model the request named (echoed, as OpenAI does). */
  model: string;
}

export class ChunkEncoder {
  /** `data: {"id":...,"choices":[{"index":0,"delta":{"content":` */
  private readonly contentHead: string;
  /** `},"logprobs":null,"finish_reason":null}]}\n\n` */
  private readonly contentTail: string;
  /** Everything of a chunk up to and including `"choices":`. */
  private readonly head: string;
  /**
   * With `stream_options.include_usage`, OpenAI adds `"usage":null` to every chunk but the
   * last one, which carries the numbers; the official client's types expect that shape.
   */
  private readonly usageNull: string;

  constructor(identity: CompletionIdentity, includeUsage: boolean) {
    this.head =
      `data: {"id":${JSON.stringify(identity.id)},"object":"chat.completion.chunk","created":${identity.created},` +
      `"model":${JSON.stringify(identity.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`;
    this.usageNull = includeUsage ? ',"usage":null' : '';
    this.contentHead = `${this.head}[{"index":0,"delta":{"content":`;
    this.contentTail = `},"logprobs":null,"finish_reason":null}]${this.usageNull}}\n\n`;
  }

  /** The first chunk: the assistant role and empty content. */
  roleChunk(): string {
    return `${this.head}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${this.usageNull}}\n\n`;
  }

  /** One content chunk; `tokenJson` is the token already JSON-encoded (a quoted string). */
  contentChunk(tokenJson: string): string {
    return this.contentHead + tokenJson + this.contentTail;
  }

  /** The chunk with an empty delta that ends the choice. */
  finishChunk(reason: FinishReason): string {
    return `${this.head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${reason}"}]${this.usageNull}}\n\n`;
  }

  /** The last data chunk of a stream that asked for usage: no choices, only the counts. */
  usageChunk(usage: Usage): string {
    return `${this.head}[],"usage":${JSON.stringify(usage)}}\n\n`;
  }
}

/** The body of a non-streamed answer (`object: "chat.completion"`). */
export interface ChatCompletionBody {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      message: { role: 'assistant'; content: string; refusal: null; annotations: [] };
      logprobs: null;
      finish_reason: FinishReason;
    },
  ];
  usage: Usage;
  system_fingerprint: string;
}

export function completionBody(identity: CompletionIdentity, content: string, finishReason: FinishReason, usage: Usage): ChatCompletionBody {
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage,
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}
