"""A target that mutates its heap as fast as it can: N threads allocate and
free dicts, lists and strings, while each checks a structure of its own that
never changes. Any difference it finds goes to FACTS.errors.

    python churn_target.py FACTS_FILE [THREADS]
"""
import os
import random
import sys
import threading
import time

from facts import write_facts


def churn(seed, errors_path):
    rnd = random.Random(seed)
    window = [None] * 2000
    stable = {'k%d' % i: [i, str(i), (i, i * 2)] for i in range(500)}
    expected = repr(sorted(stable.items()))
    n = 0
    while True:
        i = rnd.randrange(len(window))
        r = rnd.random()
        if r < 0.3:
            window[i] = {'a': rnd.random(), 'b': [1, 2, 3], 'c': 'x' * rnd.randrange(50)}
        elif r < 0.6:
            window[i] = [str(j) for j in range(rnd.randrange(20))]
        elif r < 0.9:
            window[i] = 'churn-%d-%s' % (n, 'y' * rnd.randrange(100))
        else:
            window[i] = None
        n += 1
        if n % 20000 == 0 and repr(sorted(stable.items())) != expected:
            with open(errors_path, 'a') as f:
                f.write('thread %d: stable data changed\n' % seed)


def main():
    facts_path = sys.argv[1]
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    errors_path = facts_path + '.errors'
    open(errors_path, 'w').close()
    for s in range(nthreads):
        threading.Thread(target=churn, args=(s, errors_path), daemon=True).start()
    time.sleep(0.5)
    write_facts(facts_path, {'pid': os.getpid(), 'threads': nthreads})
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
