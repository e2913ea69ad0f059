package rerank

import "github.com/ragr-dev/ragr/models"

func modelsPooling(s string) models.Pooling { return models.Pooling(s) }
