"""Every `archbench ...` command that README.md and docs/*.md show still parses, and a train or compare
command still resolves its configuration (model, data set, every --set key and value) -- without
training anything. Documentation that drifts from the code is the first thing a new user trips on."""
import re
import shlex
from pathlib import Path

import pytest

from archbench.cli.commands import compare_request, train_request
from archbench.cli.parser import build_parser
from archbench.errors import DataError
from archbench.experiment.plan import check_plan
from archbench.experiment.resolve import resolve_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# placeholders the docs use, and what stands in for them here
STAND_INS = {"MODEL": "lstm", "S": "0", "T": "1", "E": "1", "D": "0"}
# an argument that names something only the reader has: parse the command, resolve nothing
READER_OWNED = re.compile(r"<|\.\.\.|^(RUN|DIR|RUN_DIR|PYTHON)$|^runs/|\.(png|jpg)$")


def documented_commands():
    found = []
    for doc in DOCS:
        text = doc.read_text()
        spans = [b.replace("\\\n", " ") for b in re.findall(r"```[a-z]*\n(.*?)```", text, re.S)]
        lines = [line for b in spans for line in b.splitlines()]
        lines += [" ".join(m.split()) for m in re.findall(r"`(archbench [^`]*)`", text)]
        for line in lines:
            m = re.search(r"(?:^|&&|;)\s*(archbench\s[^#]*)", line.strip())
            if m:
                found.append((doc.name, m.group(1).strip()))
    return sorted(set(found))


COMMANDS = documented_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) > 50  # the extraction itself still works


@pytest.mark.parametrize("doc,command", COMMANDS, ids=[f"{d}:{c[:60]}" for d, c in COMMANDS])
def test_documented_command_is_valid(doc, command):
    argv = [re.sub(r"^(\w+=)?([A-Z]+)$", lambda m: (m[1] or "") + STAND_INS.get(m[2], m[2]), w)
            for w in shlex.split(command)[1:]]
    parser = build_parser()
    if len(argv) == 1 and argv[0].startswith("-"):  # prose that names a top-level option (`archbench --help`)
        assert argv[0] in parser._option_string_actions, f"{doc} names `{command}`, which is no longer an option"
        return
    if len(argv) == 1:  # prose that names a command: it must still exist
        commands = next(a for a in parser._actions if a.dest == "command").choices
        assert argv[0] in commands, f"{doc} names `{command}`, which is no longer a command"
        return
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        pytest.fail(f"{doc}: `{command}` no longer parses (exit {e.code})")
    named = [w for i, w in enumerate(argv) if i == 0 or argv[i - 1] != "--out"]  # --out may be anything
    if any(READER_OWNED.search(w) for w in named) or getattr(args, "resume", None):
        return
    try:
        if args.command == "train":
            resolve_config(*train_request(args))
        elif args.command == "compare":
            check_plan(*compare_request(args))
    except DataError as e:  # a data set that is not on this machine: nothing to say about the command
        pytest.skip(str(e))
