import sys

print("out")
sys.exit("bye: something went wrong")
