import internal_lib

print("hi")
