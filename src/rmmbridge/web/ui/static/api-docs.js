// Starts Swagger UI on /api/docs (web/api_docs.py): a file, not an inline script, so the page
// works under the Content-Security-Policy.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.getAttribute("data-openapi-url"), dom_id: "#swagger-ui", deepLinking: true });
})();
