package httpapi

// Route is one entry of the server's routes table, for the tests.
type Route struct {
	Method, Pattern string
	Public          bool
}

// Key is "METHOD pattern", as the route is registered.
func (r Route) Key() string { return r.Method + " " + r.Pattern }

// Routes returns the routes table (not /metrics, which is registered apart).
func (s *Server) Routes() []Route {
	var out []Route
	for _, rt := range s.routes() {
		out = append(out, Route{Method: rt.method, Pattern: rt.pattern, Public: rt.public})
	}
	return out
}
