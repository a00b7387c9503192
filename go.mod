module github.com/duesight/duesight

go 1.26.8
