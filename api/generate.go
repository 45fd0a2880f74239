package api

//go:generate go tool swag init -q -g doc.go -d ../internal/httpapi,../internal/svahub -o . --outputTypes go,json,yaml --packageName api --parseInternal --useStructName --overridesFile .swaggo
