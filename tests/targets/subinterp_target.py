"""Target with a second interpreter: the runtime's list of interpreters
starts with the newest, so the main one is not the list's head.

Creates a subinterpreter (_xxsubinterpreters, 3.8-3.12; _interpreters,
3.13+), runs a little code in it, then writes (JSON, to argv[1],
atomically) sys.version_info and how many interpreters exist, and sleeps
until killed. Exits 3 where the interpreter has neither module.

Usage: python subinterp_target.py FACTS_PATH
"""
import sys
import time

from facts import write_facts

try:
    import _interpreters as interpreters
except ImportError:
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        sys.exit(3)

sub = interpreters.create()
code = "x = [str(n) for n in range(1000)]\n"
if hasattr(interpreters, "exec"):
    interpreters.exec(sub, code)
else:
    interpreters.run_string(sub, code)
facts = {"version_info": list(sys.version_info[:3]), "interpreters": len(interpreters.list_all())}
write_facts(sys.argv[1], facts)
while True:
    time.sleep(3600)
