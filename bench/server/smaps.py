#!/usr/bin/env python3
"""Resident memory of a process by kind of mapping, from /proc/PID/smaps, in MiB.
usage: smaps.py PID [--files N]   (--files: also the N files with the most resident pages)
Kinds: managed images (.dll, ReadyToRun code and metadata, mostly clean pages shared with other .NET processes), native
images (.so), the runtime's executable memory (memfd 'doublemapper': JIT code, stubs and the loader heaps, which .NET
puts there while W^X is on), the C library's main heap ([heap]), the GC's reserved range (regions), other anonymous
memory (the GC's committed regions live in anonymous mappings too, as do glibc's other arenas and thread stacks)."""
import collections, re, sys

pid = sys.argv[1]
kinds, files = collections.Counter(), collections.Counter()
kind = path = None
for line in open(f'/proc/{pid}/smaps'):
    m = re.match(r'^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$', line)
    if m:
        size, perms, path = int(m[2], 16) - int(m[1], 16), m[3], m[4].strip()
        kind = ('executable memory (doublemapper)' if 'doublemapper' in path else
                'managed images (.dll)' if '.dll' in path else
                'native images (.so)' if '.so' in path else
                'C heap ([heap])' if path == '[heap]' else
                'other ' + path if path else
                'GC range' if size >= 1 << 36 else
                'anonymous ' + ('x' if 'x' in perms else 'rw'))
    elif line.startswith('Rss:'):
        kb = int(line.split()[1])
        kinds[kind] += kb
        if path:
            files[path] += kb
print('; '.join(f'{k} {v / 1024:.1f}' for k, v in kinds.most_common() if v >= 512) + f'; total {sum(kinds.values()) / 1024:.1f} MiB')
if '--files' in sys.argv:
    for f, kb in files.most_common(int(sys.argv[sys.argv.index('--files') + 1])):
        print(f'  {kb / 1024:6.1f} MiB  {f}')
