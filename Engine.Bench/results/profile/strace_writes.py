import sys,re,collections
# strace -f -y output: per file kind (sst / log / other), calls and bytes per syscall name.
pat=re.compile(r'^\d+\s+(\w+)\((\d+)<([^>]*)>.*\)\s+=\s+(-?\d+)')
c=collections.Counter(); b=collections.Counter()
for line in open(sys.argv[1],errors='replace'):
    m=pat.match(line)
    if not m: continue
    name,fd,path,ret=m.groups()
    kind='sst' if path.endswith('.sst') else ('wal' if path.endswith('.log') else 'other')
    c[(kind,name)]+=1
    if name in('write','pwrite64','writev','pwritev') and int(ret)>0: b[(kind,name)]+=int(ret)
for k in sorted(c):
    n=c[k]; by=b[k]
    print(f"{k[0]:6} {k[1]:16} {n:>8} calls {by:>12} bytes {by/n if by else 0:>10.0f} B/call")
