/**
 * Which language a question is in: scripts name theirs outright; Latin-script languages by
 * their function words and marks, English unless another clearly leads (airline jargon in an
 * English question never flips it).
 */
import t from 'tap';
import { detectLanguage } from '../src/text/language.js';

const code = (text: string) => detectLanguage(text).code;

t.test('Latin-script questions by their words and marks', async (t) => {
  t.equal(code('How much can my bag weigh on the flight?'), 'en');
  t.equal(code('¿Cuánto equipaje puedo llevar en el vuelo?'), 'es');
  t.equal(code('Combien de bagages pour mon vol de demain ?'), 'fr');
  t.equal(code('Wie viel Gepäck darf ich mit meinem Hund mitnehmen?'), 'de');
  t.equal(code('Quanto bagagem posso levar no voo amanhã?'), 'pt');
  t.equal(code('Quanto bagaglio posso portare sul volo di domani?'), 'it');
  t.equal(code('Hoeveel bagage mag ik meenemen op mijn vlucht?'), 'nl');
  t.equal(code('Kia ora, he aha te utu mō taku pēke?'), 'mi');
  t.same(detectLanguage('¿Dónde está mi maleta?'), { code: 'es', name: 'Spanish' }, 'with its English name');
});

t.test('English unless another language clearly leads', async (t) => {
  t.equal(code('Can I check-in my Kea Rewards bag at the kiosk?'), 'en', 'jargon stays English');
  t.equal(code('Is the café at the gate open?'), 'en', 'one accented loanword is not French');
  t.equal(code(''), 'en', 'nothing to go on');
  t.equal(code('1234 5678'), 'en', 'no words');
  t.equal(code('hola'), 'en', 'one foreign word alone is not enough');
  t.equal(code('hola gracias'), 'es', 'two, when English has none, are');
});

t.test('scripts name their language, kana before Han', async (t) => {
  t.equal(code('手荷物はいくつまでですか'), 'ja');
  t.equal(code('行李限额是多少'), 'zh');
  t.equal(code('수하물은 몇 개까지 되나요'), 'ko');
  t.equal(code('كم عدد الحقائب المسموح بها'), 'ar');
  t.equal(code('Сколько багажа можно взять'), 'ru');
  t.equal(code('कितना सामान ले जा सकते हैं'), 'hi');
  t.equal(code('น้ำหนักกระเป๋าเท่าไหร่'), 'th');
});
