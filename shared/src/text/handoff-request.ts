/**
 * A customer asking for a person rather than the assistant: "I want to speak to a human",
 * "can I talk to a real agent", "call me", "operator please", and the same in the languages
 * `detectLanguage` knows. The worker emits `handoff_requested` for it; the assistant offers the
 * airline's contact options.
 */
const HUMAN_REQUEST = [
  /\b(?:speak|talk|chat|connect|transfer|put)\w*\s+(?:me\s+)?(?:to|with|through\s+to)\s+(?:a|an|some|the|your)?\s*(?:real\s+|live\s+|actual\s+)?(?:human|person|agent|representative|rep|staff|somebody|someone|operator|supervisor|manager|people)\b/i,
  /\b(?:human|live|real)\s+(?:agent|person|being|support|representative|help)\b/i,
  /\b(?:want|need|get|give)\s+(?:me\s+)?(?:a|an|to)?\s*(?:human|person|agent|operator)\b/i,
  /^\s*(?:agent|human|operator|representative)[\s!.?]*(?:please)?[\s!.?]*$/i,
  /\b(?:call\s+me(?:\s+back)?|phone\s+number\s+(?:for|of)\s+(?:customer\s+)?(?:service|support|the\s+contact\s+centre)|contact\s+cent(?:re|er)|customer\s+service\s+(?:number|phone))\b/i,
  /\b(?:hablar|habla)\s+con\s+(?:un|una)\s+(?:humano|persona|agente)\b|\bparler\s+à\s+(?:un|une)\s+(?:humain|personne|agent|conseiller)\b|\bmit\s+einem\s+(?:menschen|mitarbeiter)\b|\bfalar\s+com\s+(?:um|uma)\s+(?:humano|pessoa|atendente)\b|\bparlare\s+con\s+(?:un|una)\s+(?:persona|operatore)\b/i,
];

/** Whether the message asks to be handed to a person. */
export function asksForHuman(message: string): boolean {
  return HUMAN_REQUEST.some((pattern) => pattern.test(message));
}
