// Everything from this origin: no web fonts, no proxy, no telemetry.
Scalar.createApiReference('#reference', {
  url: '../api/v1/openapi.json',
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
});
