import type { LanguageCode } from './language.js';

/**
 * What the assistant says, in the customer's language, when it answers in English: the policy
 * documents and flight data exist in English only, and a machine translation of fees and rules
 * is a promise the airline has not checked. Written once per language; `null` for English.
 */
const NOTICES: Partial<Record<LanguageCode, string>> = {
  es: 'Lo siento, por ahora solo puedo responder en inglés. Esta es la respuesta en inglés:',
  fr: 'Désolé, je ne peux répondre qu’en anglais pour le moment. Voici la réponse en anglais :',
  de: 'Entschuldigung, ich kann derzeit nur auf Englisch antworten. Hier ist die Antwort auf Englisch:',
  pt: 'Desculpe, por enquanto só posso responder em inglês. Esta é a resposta em inglês:',
  it: 'Mi dispiace, per ora posso rispondere solo in inglese. Ecco la risposta in inglese:',
  nl: 'Sorry, ik kan voorlopig alleen in het Engels antwoorden. Dit is het antwoord in het Engels:',
  mi: 'Kia ora! Ka whakautu au i te reo Pākehā anake i tēnei wā. Anei te whakautu i te reo Pākehā:',
  zh: '抱歉，我目前只能用英语回答。以下是英文回答：',
  ja: '申し訳ありませんが、現在は英語でのみお答えできます。以下は英語での回答です：',
  ko: '죄송하지만 현재는 영어로만 답변할 수 있습니다. 다음은 영어 답변입니다:',
  ar: 'عذرًا، يمكنني الإجابة باللغة الإنجليزية فقط حاليًا. إليك الإجابة باللغة الإنجليزية:',
  ru: 'Извините, сейчас я могу отвечать только на английском языке. Вот ответ на английском:',
  hi: 'क्षमा करें, अभी मैं केवल अंग्रेज़ी में उत्तर दे सकता हूँ। अंग्रेज़ी में उत्तर यह है:',
  th: 'ขออภัย ขณะนี้ฉันตอบได้เฉพาะภาษาอังกฤษเท่านั้น นี่คือคำตอบเป็นภาษาอังกฤษ:',
};

/** The notice for `code`, or null when the answer is already in that language (English). */
export function englishOnlyNotice(code: LanguageCode): string | null {
  return NOTICES[code] ?? null;
}
