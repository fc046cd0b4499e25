import sys, re, collections
# Sums, per callee, the calls and inclusive Ir recorded at every call site (callgrind format).
names = {}
def resolve(tok):
    m = re.match(r'\((\d+)\)(?: (.*))?', tok)
    if not m: return tok
    if m.group(2): names[m.group(1)] = m.group(2)
    return names.get(m.group(1), tok)
calls = collections.Counter(); incl = collections.Counter()
callee = None; pending = False
for line in open(sys.argv[1], errors='replace'):
    line = line.rstrip('\n')
    if line.startswith('cfn='):
        callee = resolve(line[4:])
    elif line.startswith('fn='):
        resolve(line[3:])
    elif line.startswith('calls='):
        n = int(line[6:].split()[0]); pending = True; calls[callee] += n; continue
    elif pending:
        parts = line.split()
        if len(parts) >= 2: incl[callee] += int(parts[1])
        pending = False
    # other lines ignored
pats = sys.argv[2:]
for name in sorted(calls, key=lambda k: -incl[k]):
    if any(p in name for p in pats):
        c = calls[name]
        print(f"{c:>10,} calls {incl[name]:>15,} Ir incl {incl[name]/max(c,1):>12,.0f} Ir/call  {name[:110]}")
