/**
 * English search words for the commonest airline words in the languages `detectLanguage`
 * knows, so a question in Spanish or German still finds the English policy section that
 * answers it (the documents exist in English only). Deliberately small and about the
 * documents' topics; a word not listed is simply not translated.
 */
const GLOSSARY: Readonly<Record<string, string>> = {
  // Spanish
  equipaje: 'baggage', maleta: 'bag', maletas: 'bags', facturar: 'checked', facturado: 'checked', mano: 'carry-on',
  vuelo: 'flight', vuelos: 'flights', perro: 'dog', gato: 'cat', mascota: 'pet', mascotas: 'pets', reembolso: 'refund',
  cancelado: 'cancelled', cancelar: 'cancel', retraso: 'delay', retrasado: 'delayed', bebé: 'infant', niño: 'child',
  niños: 'children', asiento: 'seat', asientos: 'seats', cuesta: 'cost', precio: 'fee', tarifa: 'fare', embarazada: 'pregnant',
  pasaporte: 'passport', visado: 'visa', compensación: 'compensation', cambiar: 'change', cambio: 'change', perdida: 'lost',
  perdido: 'lost', dañada: 'damaged', batería: 'battery', baterías: 'batteries', peso: 'weight', kilos: 'kg', silla: 'wheelchair',
  ruedas: 'wheelchair', humano: 'human', agente: 'agent', persona: 'person', hablar: 'speak', llevar: 'bring',
  // French
  bagage: 'baggage', bagages: 'baggage', valise: 'bag', valises: 'bags', vol: 'flight', vols: 'flights', chien: 'dog', chat: 'cat',
  animal: 'pet', remboursement: 'refund', annulé: 'cancelled', annuler: 'cancel', retard: 'delay', retardé: 'delayed',
  enfant: 'child', enfants: 'children', siège: 'seat', coûte: 'cost', prix: 'fee', enceinte: 'pregnant', passeport: 'passport',
  changer: 'change', perdu: 'lost', endommagé: 'damaged', batterie: 'battery', poids: 'weight', fauteuil: 'wheelchair',
  enregistrement: 'check-in', soute: 'checked', cabine: 'cabin', parler: 'speak', humain: 'human',
  // German
  gepäck: 'baggage', koffer: 'bag', flug: 'flight', flüge: 'flights', hund: 'dog', katze: 'cat', haustier: 'pet',
  erstattung: 'refund', rückerstattung: 'refund', storniert: 'cancelled', annulliert: 'cancelled', verspätung: 'delay',
  verspätet: 'delayed', kind: 'child', kinder: 'children', baby: 'infant', sitzplatz: 'seat', kostet: 'cost', preis: 'fee',
  schwanger: 'pregnant', reisepass: 'passport', umbuchen: 'change', verloren: 'lost', beschädigt: 'damaged', akku: 'battery',
  gewicht: 'weight', rollstuhl: 'wheelchair', aufgegeben: 'checked', handgepäck: 'carry-on', sprechen: 'speak', mensch: 'human',
  // Portuguese
  bagagem: 'baggage', mala: 'bag', voo: 'flight', voos: 'flights', cachorro: 'dog', cão: 'dog', reembolsar: 'refund',
  atrasado: 'delayed', atraso: 'delay', criança: 'child', assento: 'seat', custa: 'cost', grávida: 'pregnant',
  passaporte: 'passport', despachar: 'checked', despachada: 'checked',
  // Italian
  bagaglio: 'baggage', bagagli: 'baggage', valigia: 'bag', volo: 'flight', voli: 'flights', cane: 'dog', gatto: 'cat',
  rimborso: 'refund', cancellato: 'cancelled', ritardo: 'delay', bambino: 'child', posto: 'seat', costa: 'cost',
  incinta: 'pregnant', passaporto: 'passport', stiva: 'checked',
  // Dutch
  vlucht: 'flight', hond: 'dog', kat: 'cat', terugbetaling: 'refund', geannuleerd: 'cancelled', vertraging: 'delay',
  kost: 'cost', zwanger: 'pregnant', paspoort: 'passport',
  // Māori
  rererangi: 'flight', pēke: 'bag', kurī: 'dog', tamaiti: 'child', pēpi: 'infant', utu: 'fee',
};

/** English words for the words of `text` that the glossary knows, in order, without repeats. */
export function glossaryTerms(text: string): string[] {
  const out: string[] = [];
  for (const word of text.toLowerCase().normalize('NFC').match(/[\p{L}-]+/gu) ?? []) {
    const english = GLOSSARY[word];
    if (english && !out.includes(english)) out.push(english);
  }
  return out;
}
