module github.com/artifact-conduit/arc/hack/imagetool

go 1.26.0

require (
	github.com/google/go-containerregistry v0.22.1
	github.com/opencontainers/go-digest v1.0.0
	github.com/opencontainers/image-spec v1.1.1
	oras.land/oras-go/v2 v2.7.0
)

require (
	github.com/klauspost/compress v1.19.2 // indirect
	golang.org/x/sync v0.24.0 // indirect
)
