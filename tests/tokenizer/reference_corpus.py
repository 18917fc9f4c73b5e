"""Deterministic tokenizer test corpus for reference_test.py.

build_corpus() returns the same list of strings on every run: a fixed set of
hand-picked *inputs* (never expected ids: those come from the reference
tokenizer at test time) in the categories the tokenizers must agree on, plus
strings generated from them with a seeded random.Random (mixtures of scripts,
whitespace runs, numbers, special-token text and long words).

  python3 reference_corpus.py            # prints the corpus as JSON lines
"""

import json
import random

SEED = 20250314

PROSE = [
    "Hello world",
    " Hello world",
    "Hello  world",
    "The quick brown fox jumps over the lazy dog.",
    "don't I'LL we've they're she'd it's You'RE O'Neil's",
    "Once upon a time, there was a little dog named Max. Max liked to run!",
    "A sentence... with ellipsis -- and dashes; semicolons: colons? (parens) [brackets] {braces}",
    "\"Quoted\" 'single' `backtick` \u201csmart quotes\u201d \u2018apostrophes\u2019",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 co\u00f6perate \u00fcber Stra\u00dfe",
    "e\u0301 vs \u00e9 (NFD vs NFC), A\u030a, n\u0303",
    "\u017fome long s and \u0130stanbul \u0131 dotless",
    "ALL CAPS SHOUTING AND MiXeD cAsE",
    "Ellipsis\u2026 em\u2014dash en\u2013dash \u00a7 \u00b6 \u2020 \u00a9 \u00ae \u2122",
]

CODE = [
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += v[i];\n}",
    "#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; return v.size(); }",
    '{"key": "value", "n": 12345, "ok": true, "list": [1.5, -2e10, null]}',
    "<table><tr><td>cell</td></tr></table>",
    "<div class=\"x\"><h1>Title</h1><p>para</p></div>",
    "<ul>\n  <li>one</li> </ul> <b>x</b> </i> a > </span>",
    "if (a> </ && b> </x>) { <y> </y> }",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name DESC;",
    "x = [i**2 for i in range(10) if i % 2 == 0]  # squares",
    "fn main() -> Result<(), Box<dyn Error>> { println!(\"{}\", 0x1F); Ok(()) }",
    "https://example.com/path?query=1&other=two#frag user@example.org",
    "a->b; c::d; e=>f; g!=h; i<=j; k>>=l; m&&n || o",
    "    indented four\n        indented eight\n\tTabbed",
    "$ ls -la | grep '.gguf' > out.txt 2>&1",
    "/* block comment */ // line comment\n#!/usr/bin/env python3",
]

EMOJI = [
    "\U0001f600\U0001f601\U0001f602",
    "I \u2764\ufe0f tokenizers \U0001f916!",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family ZWJ",
    "\U0001f44d\U0001f3fd skin tone, \U0001f1ef\U0001f1f5 \U0001f1fa\U0001f1f8 flags",
    "\u2615 \u2603 \u2602 \u263a \u2728 \U0001f525\U0001f525\U0001f525",
    "\U0001f9d1\u200d\U0001f4bb coder \U0001f3f3\ufe0f\u200d\U0001f308",
]

CJK_AND_SCRIPTS = [
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u4eca\u5929\u5929\u6c14\u5f88\u597d\u3002",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\u3072\u3089\u304c\u306a\u3068\u30ab\u30bf\u30ab\u30ca\u3002",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4. \uc548\ub155\ud558\uc138\uc694!",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e, \u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0415\u0451\u0436\u0438\u043a.",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5 \u03a9\u03bc\u03ad\u03b3\u03b1",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u1000\u103c\u1014\u103a\u1019\u102c \u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8 \u0540\u0561\u0575\u0565\u0580\u0565\u0576",
    "\uff21\uff22\uff23\uff11\uff12\uff13 fullwidth\u3000ideographic space",
    "\u4e2d\u6587English\u6df7\u5408mixed\u6587\u672c123\u6570\u5b57",
    "\U00020000\U0002a6d6 rare CJK ext B, \U0001d400\U0001d401 math bold",
]

NUMBERS = [
    "0",
    "12",
    "123",
    "1234567890",
    "3.14159265358979323846",
    "-42 +7 1e-9 6.022e23",
    "2024-03-14T09:26:53Z",
    "1,234,567.89 and 1.234.567,89",
    "$100.00 \u20ac50 \u00a320 \u00a51000",
    "98765432109876543210987654321098765432109876543210",
    "\u0661\u0662\u0663 \u0967\u0968\u0969 \u2460\u2461 \u00bd \u2153 \u00b2\u00b3",
    "v1.2.3-rc.4+build.5",
    "0x7fff_ffff 0b1010 0o777",
]

WHITESPACE = [
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    " \n \n ",
    "\t\t\ttabs",
    "trailing   ",
    "   leading",
    "a\u00a0b non-breaking",
    "a\u2009b thin \u2003 em space",
    "line1\nline2\r\nline3\rline4",
    "word \t mixed \n\t whitespace",
    "\u200b zero width \u200c\u200d joiners \ufeff bom",
]

SPECIAL_TEXT = [
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text<eos>",
    "<pad><unk><mask>",
    "<unused0> <unused12> [multimodal] <start_of_image>",
    "<|im_start|",
    "<start_of_turn",
    "<|im_start|><|im_start|>",
    "< |im_start| >",
    "text<|im_end|>more text",
    "<repo_name>kiln<file_sep>src/main.cpp<gh_stars>10",
    "<s>Hello</s> world",
    "<table>",
]

LONG = [
    "a" * 600,
    "supercalifragilisticexpialidocious" * 12,
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "\u00e9" * 300,
    "\u4e00" * 200,
    "ab" * 400,
    "\U0001f600" * 64,
    " " * 40,
    "\n" * 40,
    "\t" * 40,
    "9" * 120,
    "-" * 80 + "=" * 80,
]

CATEGORIES = {
    "prose": PROSE,
    "code": CODE,
    "emoji": EMOJI,
    "scripts": CJK_AND_SCRIPTS,
    "numbers": NUMBERS,
    "whitespace": WHITESPACE,
    "special": SPECIAL_TEXT,
    "long": LONG,
}

WS_PIECES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \t", "\u00a0", "\u3000", "    "]


def _random_strings(rng, count):
    pool = [s for values in CATEGORIES.values() for s in values if 0 < len(s) < 200]
    words = [w for s in pool for w in s.split() if w]
    out = []
    for i in range(count):
        kind = i % 6
        if kind == 0:  # a few whole strings joined by whitespace runs
            parts = [rng.choice(pool) for _ in range(rng.randint(2, 4))]
            out.append(rng.choice(WS_PIECES).join(parts))
        elif kind == 1:  # words with random whitespace between them
            n = rng.randint(3, 12)
            out.append("".join(rng.choice(words) + rng.choice(WS_PIECES) for _ in range(n)))
        elif kind == 2:  # a leading/trailing whitespace run around a string
            s = rng.choice(pool)
            out.append(rng.choice(WS_PIECES) * rng.randint(1, 3) + s + rng.choice(WS_PIECES))
        elif kind == 3:  # random numbers glued to text
            num = str(rng.randint(0, 10 ** rng.randint(1, 25)))
            out.append(rng.choice(words) + num + rng.choice(["", " ", ".", ","]) + rng.choice(words))
        elif kind == 4:  # a slice of a string (may cut through a grapheme cluster)
            s = rng.choice(pool)
            a = rng.randint(0, len(s) - 1)
            out.append(s[a : a + rng.randint(1, 40)])
        else:  # special-token text inside other text
            out.append(rng.choice(words) + rng.choice(SPECIAL_TEXT) + rng.choice(pool))
    return out


def build_corpus():
    """The corpus: every fixed string, then 120 seeded random mixtures."""
    corpus = [s for values in CATEGORIES.values() for s in values]
    corpus += _random_strings(random.Random(SEED), 120)
    return corpus


if __name__ == "__main__":
    for text in build_corpus():
        print(json.dumps(text, ensure_ascii=False))
