#!/usr/bin/env python3
"""Chat-template conformance: kiln's renderer against Python jinja2.

The reference environment is built the way Hugging Face transformers builds it for
apply_chat_template (transformers 5.x, utils/chat_template_utils.py,
_cached_compile_jinja_template and render_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension and a `{% generation %}` tag, a tojson filter that is
json.dumps(ensure_ascii=False, indent, separators, sort_keys), and the globals
raise_exception, strftime_now, dict and namespace (no "_"-prefixed attributes). The
context is messages (with reasoning aliased to `thinking`/`reasoning_content`), tools
(None if absent), documents=None, add_generation_prompt, bos_token and eos_token.
strftime_now reads a fixed clock on both sides so renders are deterministic.

  conformance.py --render BIN --template FILE.jinja   # one template, the case matrix
  conformance.py --render BIN --snippets FILE.json     # language snippets

For every case both sides either render the same text, or both fail (jinja2 raises,
kiln returns an error). Exits non-zero on any mismatch and prints a diff.
"""

import argparse
import copy
import datetime
import json
import subprocess
import sys
import tempfile

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The fixed clock strftime_now reads (local time), as an epoch for jinja_render.
FIXED_NOW = datetime.datetime(2025, 3, 14, 9, 26, 53)
FIXED_EPOCH = int(FIXED_NOW.timestamp())


class GenerationExtension(Extension):
    """transformers' AssistantTracker with tracking off: renders the body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


class TemplateDict:
    def __call__(self, *args, **kwargs):
        return dict(*args, **kwargs)

    def fromkeys(self, *args, **kwargs):
        return dict.fromkeys(*args, **kwargs)


class TemplateNamespace(jinja2.utils.Namespace):
    def __init__(*args, **kwargs):
        self, args = args[0], args[1:]
        attrs = dict(*args, **kwargs)
        for name in attrs:
            TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name, value):
        TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check_name(name):
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"underscore-prefixed attribute {name!r}")


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.fromtimestamp(FIXED_EPOCH).strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationExtension, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = TemplateDict()
    env.globals["namespace"] = TemplateNamespace
    return env


def alias_reasoning(messages):
    """transformers' _alias_reasoning_fields."""
    out = []
    for m in messages:
        reasoning = next((m[k] for k in ("reasoning_content", "thinking", "reasoning") if m.get(k) is not None), None)
        if reasoning is not None:
            m = {"thinking": reasoning, **m, "reasoning_content": reasoning}
        out.append(m)
    return out


def reference_render(env, source, case):
    try:
        template = env.from_string(source)
        context = dict(
            messages=alias_reasoning(copy.deepcopy(case["messages"])),
            tools=case.get("tools"),
            documents=None,
            add_generation_prompt=case["add_generation_prompt"],
            bos_token=case["bos_token"],
            eos_token=case["eos_token"],
        )
        context.update(case.get("extra_context") or {})
        return {"ok": True, "output": template.render(**context)}
    except Exception as e:  # jinja2 raises many exception types; any raise is "error"
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


# ---- the conversation matrix -----------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer briefly."}
USER1 = {"role": "user", "content": "Hello! What's the capital of France? Réponds en français."}
ASSISTANT1 = {"role": "assistant", "content": "La capitale de la France est Paris."}
USER2 = {"role": "user", "content": "  And of Japan? 日本の首都は？\nThanks.  "}
ASSISTANT2 = {"role": "assistant", "content": "Tokyo (東京)."}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city name, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_web",
            "description": "Search the web",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to search for"},
                    "max_results": {"type": "integer", "description": "How many results"},
                },
                "required": ["query"],
            },
        },
    },
]
WEATHER_USER = {"role": "user", "content": "What's the weather in Paris?"}
TOOL_CALL = {
    "role": "assistant",
    "tool_calls": [
        {
            "id": "call_0001",
            "type": "function",
            "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
        }
    ],
}
TOOL_CALL_STRING_ARGS = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "id": "call_0001",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'},
        }
    ],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call_0001", "name": "get_weather", "content": '{"temperature": 21, "condition": "sunny"}'}
TOOL_ANSWER = {"role": "assistant", "content": "It is sunny in Paris, 21 °C."}
REASONING_ASSISTANT = {
    "role": "assistant",
    "content": "The answer is 4.",
    "reasoning_content": "2 + 2 = 4, a simple sum.",
}


def case(messages, add_generation_prompt, tools=None):
    return {
        "messages": messages,
        "add_generation_prompt": add_generation_prompt,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "tools": tools,
    }


def case_matrix(source):
    cases = {
        "system_user": case([SYSTEM, USER1], True),
        "system_user_no_prompt": case([SYSTEM, USER1], False),
        "user_only": case([USER1], True),
        "multi_turn": case([SYSTEM, USER1, ASSISTANT1, USER2], True),
        "multi_turn_no_prompt": case([USER1, ASSISTANT1, USER2, ASSISTANT2], False),
    }
    if "tool" in source:
        cases["tools_listed"] = case([SYSTEM, WEATHER_USER], True, TOOLS)
        cases["tool_call"] = case([WEATHER_USER, TOOL_CALL, TOOL_RESULT], True, TOOLS)
        cases["tool_call_answered"] = case([SYSTEM, WEATHER_USER, TOOL_CALL, TOOL_RESULT, TOOL_ANSWER], False, TOOLS)
        cases["tool_call_string_args"] = case([WEATHER_USER, TOOL_CALL_STRING_ARGS, TOOL_RESULT], True, TOOLS)
    if "reasoning" in source or "thinking" in source:
        cases["reasoning"] = case([USER1, REASONING_ASSISTANT, USER2], True)
    return cases


# ---- comparison ------------------------------------------------------------------------


def describe_mismatch(expected, actual):
    if expected["ok"] != actual["ok"]:
        if expected["ok"]:
            return f"jinja2 rendered but kiln failed: {actual['error']}\n--- jinja2 output ---\n{expected['output']}"
        return f"jinja2 raised ({expected['error']}) but kiln rendered:\n{actual['output']}"
    a, b = expected["output"], actual["output"]
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    lo = max(0, i - 120)
    return (
        f"outputs differ at character {i} (jinja2 {len(a)} chars, kiln {len(b)} chars)\n"
        f"--- jinja2 ---\n{a[lo:i + 120]!r}\n--- kiln ---\n{b[lo:i + 120]!r}"
    )


def same(expected, actual):
    if expected["ok"] != actual["ok"]:
        return False
    return not expected["ok"] or expected["output"] == actual["output"]


def run_template(render_bin, path):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    env = make_env()
    cases = case_matrix(source)
    expected = {name: reference_render(env, source, c) for name, c in cases.items()}
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as f:
        json.dump(cases, f, ensure_ascii=False)
        cases_path = f.name
    proc = subprocess.run(
        [render_bin, "--batch", path, cases_path, "--now", str(FIXED_EPOCH)], capture_output=True, timeout=100
    )
    if proc.returncode != 0:
        print(f"jinja_render failed (exit {proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
        return 1
    actual = json.loads(proc.stdout)
    failures = 0
    for name in cases:
        e, a = expected[name], actual[name]
        status = "ok" if same(e, a) else "MISMATCH"
        kind = "renders" if e["ok"] else "errors"
        print(f"{status:8} {name} (jinja2 {kind})")
        if status != "ok":
            failures += 1
            print(describe_mismatch(e, a))
        elif not e["ok"]:
            print(f"         jinja2: {e['error']}\n         kiln:   {a['error']}")
    print(f"{len(cases) - failures}/{len(cases)} cases match")
    return 1 if failures else 0


def run_snippets(render_bin, path):
    with open(path, encoding="utf-8") as f:
        snippets = json.load(f)
    env = make_env()
    expected = []
    for s in snippets:
        try:
            out = env.from_string(s["template"]).render(**s.get("context", {}))
            expected.append({"ok": True, "output": out})
        except Exception as e:
            expected.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    proc = subprocess.run(
        [render_bin, "--snippets", path, "--now", str(FIXED_EPOCH)], capture_output=True, timeout=100
    )
    if proc.returncode != 0:
        print(f"jinja_render failed (exit {proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
        return 1
    actual = json.loads(proc.stdout)
    failures = 0
    for s, e, a in zip(snippets, expected, actual):
        if not same(e, a):
            failures += 1
            print(f"MISMATCH {s['template']!r}\n{describe_mismatch(e, a)}\n")
    print(f"{len(snippets) - failures}/{len(snippets)} snippets match")
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--render", required=True, help="path to the jinja_render binary")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--template", help="a .jinja chat template")
    g.add_argument("--snippets", help="a JSON list of {template, context}")
    args = p.parse_args()
    if args.template:
        return run_template(args.render, args.template)
    return run_snippets(args.render, args.snippets)


if __name__ == "__main__":
    sys.exit(main())
