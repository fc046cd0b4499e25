import sys, re, collections
# Callees of functions whose name contains argv[2]: calls and inclusive Ir per callee.
names = {}
def resolve(tok):
    m = re.match(r'\((\d+)\)(?: (.*))?', tok)
    if not m: return tok
    if m.group(2): names[m.group(1)] = m.group(2)
    return names.get(m.group(1), tok)
pair_calls = collections.Counter(); pair_incl = collections.Counter(); self_ir = collections.Counter()
fn = None; callee = None; pending = False
for line in open(sys.argv[1], errors='replace'):
    line = line.rstrip('\n')
    if line.startswith('fn='):
        fn = resolve(line[3:]); continue
    if line.startswith('cfn='):
        callee = resolve(line[4:]); continue
    if line.startswith('calls='):
        pair_calls[(fn, callee)] += int(line[6:].split()[0]); pending = True; continue
    if pending:
        p = line.split()
        if len(p) >= 2: pair_incl[(fn, callee)] += int(p[1])
        pending = False; continue
    if line and (line[0].isdigit() or line[0] in '+-*'):
        p = line.split()
        if len(p) >= 2 and fn is not None:
            try: self_ir[fn] += int(p[1])
            except ValueError: pass
for f in [k for k in self_ir if sys.argv[2] in k][:3]:
    print(f"{f[:120]}: self {self_ir[f]:,}")
    for (a, b), ir in sorted(pair_incl.items(), key=lambda kv: -kv[1]):
        if a == f and ir > 0:
            print(f"   {pair_calls[(a,b)]:>8,} calls {ir:>13,} Ir  {ir/max(pair_calls[(a,b)],1):>9,.0f}/call  {b[:100]}")
