// chatsite's only hand-written script: small behaviours htmx does not cover.
"use strict";
