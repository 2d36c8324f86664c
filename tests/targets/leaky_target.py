"""A target of known structure for dumps: a module-level cache dict holding,
under the key 'orders', a list of app.Leaky instances. On SIGUSR1 it adds
ADD more instances and writes its facts again (FACTS_FILE.N, N = 1, 2, ...).

    python leaky_target.py FACTS_FILE [COUNT] [ADD]
"""
import gc
import os
import signal
import sys
import threading
import time
import types

from facts import write_facts

app = types.ModuleType('app')
sys.modules['app'] = app
exec('''
class Leaky:
    def __init__(self, i):
        self.i = i
        self.payload = 'leaky-%d' % i
''', app.__dict__)

cache = {'orders': []}
generation = [0]


def facts():
    orders = cache['orders']
    return {
        'pid': os.getpid(),
        'leaky': sum(1 for o in gc.get_objects() if type(o) is app.Leaky),
        'cache_id': id(cache),
        'orders_key_id': id([k for k in cache if k == 'orders'][0]),
        'orders_id': id(orders),
        # its allocated item slots: what getsizeof counts beyond an empty list's
        'orders_capacity': (sys.getsizeof(orders) - sys.getsizeof([])) // 8,
        'first_ids': [id(o) for o in orders[:10]],
        'main_dict_id': id(sys.modules[__name__].__dict__),
        'sys_modules_id': id(sys.modules),
        'builtins_id': id(__builtins__.__dict__ if isinstance(__builtins__, types.ModuleType) else __builtins__),
        'version': list(sys.version_info[:3]),
        'main_thread': threading.main_thread().ident,
    }


def write(path):
    gc.collect()
    write_facts(path, facts())


def main():
    path = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    add = int(sys.argv[3]) if len(sys.argv) > 3 else 250
    cache['orders'].extend(app.Leaky(i) for i in range(count))
    wanted = []
    signal.signal(signal.SIGUSR1, lambda *_: wanted.append(1))
    write(path)
    while True:
        time.sleep(0.05)
        if wanted:
            wanted.clear()
            n = len(cache['orders'])
            cache['orders'].extend(app.Leaky(n + i) for i in range(add))
            generation[0] += 1
            write('%s.%d' % (path, generation[0]))


if __name__ == '__main__':
    main()
