/**
 * A small BERT-style tokenizer.json (WordPiece, lower-casing, [CLS] ... [SEP], pairs typed 0 and 1)
 * over a vocabulary of a few words, for tests that must run with no network. [PAD] is id 1, not
 * the usual 0, so that a test can tell padding from the first id.
 */
export const tinyVocab = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", ".", "a", "dog", "ran", "##s", "hello", "world", "!", ","];

export const tinyIds = Object.fromEntries(tinyVocab.map((token, id) => [token, id])) as Record<string, number>;

export function tinyTokenizerJson(): Record<string, unknown> {
  const special = (content: string) => ({ id: tinyIds[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const token = (id: string, type_id: number) => ({ SpecialToken: { id, type_id } });
  const sequence = (id: string, type_id: number) => ({ Sequence: { id, type_id } });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: ["[UNK]", "[PAD]", "[CLS]", "[SEP]"].map(special),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [token("[CLS]", 0), sequence("A", 0), token("[SEP]", 0)],
      pair: [token("[CLS]", 0), sequence("A", 0), token("[SEP]", 0), sequence("B", 1), token("[SEP]", 1)],
      special_tokens: Object.fromEntries(["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [tinyIds[t]], tokens: [t] }])),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: tinyIds },
  };
}
