"""The pure core of CORS and security headers: origins, policies, CSP, reports. No I/O, no framework."""
