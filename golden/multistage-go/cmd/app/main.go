package main

import "example.com/internal/lib"

func main() { lib.Run() }
