"""archbench's command line: parse, run one command handler, turn errors into one line and an exit code.

The parser (``cli/parser.py``) imports nothing heavy, so ``archbench --help`` is instant; the handlers
(``cli/commands.py``) and what they import (torch and the library) are loaded once a command runs.

Exit codes: 0 done; 1 an error (one line; set ARCHBENCH_DEBUG=1 for a traceback); 2 a usage error;
130 interrupted (the last checkpoint is intact).
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import List, Optional

from ..errors import ArchbenchError
from .parser import build_parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        handler = getattr(importlib.import_module("archbench.cli.commands"), args.func)  # heavy: after parsing
        code = int(handler(args) or 0)
    except ArchbenchError as e:
        print(f"archbench: error: {e}", file=sys.stderr)
        code = e.exit_code
    except KeyboardInterrupt:
        print("archbench: interrupted (the last checkpoint is intact; resume with `archbench train --resume DIR`)",
              file=sys.stderr)
        code = 130
    except Exception as e:  # a bug or an environment problem: one line unless debugging
        if os.environ.get("ARCHBENCH_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"archbench: error: {type(e).__name__}: {msg} (set ARCHBENCH_DEBUG=1 for a traceback)", file=sys.stderr)
        code = 1
    if "TORCHELASTIC_RUN_ID" in os.environ:
        # A process that torchrun started, its command done (files written and closed, the process group
        # destroyed), leaves without the interpreter's teardown. Once in about 70 two-process runs here,
        # rank 1 aborted after every file of the run was written ("terminate called without an active
        # exception": C++ threads torn down at exit), and torchrun reported the finished run as failed.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
