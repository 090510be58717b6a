module example.com/app

go 1.22

require example.com/internal/lib v1.0.0
