"""The ledger stands on its own: no Flask anywhere in its import graph."""

import subprocess
import sys


def test_importing_the_ledger_pulls_in_no_flask():
    code = (
        "import sys, timebank.ledger, timebank.ledger.export, timebank.ledger.rules, "
        "timebank.ledger.reports, timebank.ledger.verify\n"
        "loaded = sorted(m for m in sys.modules if m == 'flask' or m.startswith(('flask.', 'flask_')))\n"
        "print(','.join(loaded))\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"ledger imported Flask modules: {result.stdout}{result.stderr}"
