import sys

sys.stdout.buffer.write(bytes(range(256)))
sys.stdout.buffer.write(b"\n\xff\xfe invalid utf-8 \xc3\x28\n")
sys.stderr.buffer.write(b"\x80\x81 stderr bytes\n")
print("text after bytes: \u00e9\u20ac")
