/**
 * Which language a customer wrote in, from bundled word lists and scripts (no model, no
 * network): enough to answer in that language where the assistant has the words for it, and
 * otherwise to say, in that language, that answers are given in English.
 *
 * Latin-script languages are told apart by their commonest function words; a text counts as
 * English unless another language's words clearly outnumber English ones, so airline jargon
 * ("check-in", "Kea Rewards") in an English question never flips it.
 */

export type LanguageCode = 'en' | 'es' | 'fr' | 'de' | 'pt' | 'it' | 'nl' | 'mi' | 'zh' | 'ja' | 'ko' | 'ar' | 'ru' | 'hi' | 'th';

export interface DetectedLanguage {
  code: LanguageCode;
  /** English name, for logs and metadata. */
  name: string;
}

const NAMES: Record<LanguageCode, string> = {
  en: 'English', es: 'Spanish', fr: 'French', de: 'German', pt: 'Portuguese', it: 'Italian', nl: 'Dutch',
  mi: 'Māori', zh: 'Chinese', ja: 'Japanese', ko: 'Korean', ar: 'Arabic', ru: 'Russian', hi: 'Hindi', th: 'Thai',
};

/** Function words, frequent and short; a word may sit in several lists. */
const WORDS: Partial<Record<LanguageCode, ReadonlySet<string>>> = {
  en: set('the a an is are was my i you your can how what when where which do does to of in on for with and or it this that be have much many bag flight'),
  es: set('el la los las es son mi mis mí puedo cuánto cuánta cuántos cuántas cuando cuándo dónde qué que de del en con para por y o un una está están tengo vuelo equipaje maleta hola quiero puede llevar perro gracias cómo mañana hay'),
  fr: set('le la les est sont mon ma mes je puis peux combien quand où quel quelle que de du des en avec pour et ou un une vol bagage bagages valise bonjour veux chien merci comment demain mes est-ce avoir'),
  de: set('der die das ist sind mein meine ich kann wie viel wann wo welche was von mit für und oder ein eine flug gepäck koffer hallo möchte hund danke morgen darf nicht'),
  pt: set('o a os as é são meu minha eu posso quanto quantos quando onde qual que de do da em com para por e ou um uma voo bagagem mala olá quero cachorro obrigado amanhã não'),
  it: set('il lo la gli le è sono mio mia io posso quanto quanti quando dove quale che di del della in con per e o un una volo bagaglio valigia ciao voglio cane grazie domani non'),
  nl: set('de het is zijn mijn ik kan hoeveel wanneer waar welke wat van met voor en of een vlucht bagage koffer hallo wil hond dank morgen niet'),
  mi: set('kia ora tēnā koe he aha te ko au ahau taku tōku ēhea āhea hea kei pēhea koutou mō mā ki rererangi pēke'),
};

/**
 * The same lists turned around: each word and the languages whose list has it, so a word is one
 * lookup (this runs on every question; walking the lists per word allocated an array per word).
 */
const LANGUAGES_OF_WORD: ReadonlyMap<string, readonly LanguageCode[]> = (() => {
  const byWord = new Map<string, LanguageCode[]>();
  for (const [code, list] of Object.entries(WORDS) as Array<[LanguageCode, ReadonlySet<string>]>) {
    for (const word of list) {
      const codes = byWord.get(word);
      if (codes) codes.push(code);
      else byWord.set(word, [code]);
    }
  }
  return byWord;
})();

/** Scripts that name their language outright. */
const SCRIPTS: ReadonlyArray<[RegExp, LanguageCode]> = [
  [/[\u3040-\u30FF]/, 'ja'], // kana first: Japanese also uses Han characters
  [/[\uAC00-\uD7AF]/, 'ko'],
  [/[\u4E00-\u9FFF]/, 'zh'],
  [/[\u0600-\u06FF]/, 'ar'],
  [/[\u0400-\u04FF]/, 'ru'],
  [/[\u0900-\u097F]/, 'hi'],
  [/[\u0E00-\u0E7F]/, 'th'],
];

/** Characters only some Latin-script languages use. */
const MARKS: ReadonlyArray<[RegExp, LanguageCode, number]> = [
  [/[ñ¿¡]/, 'es', 2],
  [/[ãõ]/, 'pt', 2],
  [/ç/, 'fr', 0.5],
  [/[ßäöü]/, 'de', 2],
  [/[āēīōū]/, 'mi', 2],
  [/[èàù]/, 'it', 0.5],
  [/[èàùêâôœ]/, 'fr', 0.5],
];

export function detectLanguage(text: string): DetectedLanguage {
  const code = detectCode(text);
  return { code, name: NAMES[code] };
}

function detectCode(text: string): LanguageCode {
  for (const [script, code] of SCRIPTS) if (script.test(text)) return code;
  const words = text.toLowerCase().normalize('NFC').match(/[\p{L}'-]+/gu) ?? [];
  if (words.length === 0) return 'en';
  const scores = new Map<LanguageCode, number>();
  for (const word of words) {
    const codes = LANGUAGES_OF_WORD.get(word);
    if (codes) for (const code of codes) scores.set(code, (scores.get(code) ?? 0) + 1);
  }
  for (const [mark, code, weight] of MARKS) if (mark.test(text)) scores.set(code, (scores.get(code) ?? 0) + weight);
  const english = scores.get('en') ?? 0;
  let best: LanguageCode = 'en';
  let bestScore = english;
  for (const [code, score] of scores) {
    if (code !== 'en' && score > bestScore) {
      best = code;
      bestScore = score;
    }
  }
  // Another language must clearly lead: two more hits than English, or English has none.
  if (best !== 'en' && (bestScore >= english + 2 || (english === 0 && bestScore >= 1.5))) return best;
  return 'en';
}

function set(words: string): ReadonlySet<string> {
  return new Set(words.split(' '));
}
