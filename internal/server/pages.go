package server

import (
	"net/http"

	"github.com/mlthreat/mlthreat/internal/server/web"
)

// pagesHandler builds the HTML pages.
func pagesHandler(deps web.Deps) http.Handler { return web.Handler(deps) }
