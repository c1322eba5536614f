// SMS settings: count GSM-7 / UCS-2 segments as a text is typed. The same rules as
// controlplane/desk/sms/segments.py (the alphabets come from the page, rendered from it).
(function () {
  "use strict";

  function count(text, basic, extended) {
    var chars = Array.from(text);
    var forcing = [];
    chars.forEach(function (ch) {
      if (basic.indexOf(ch) < 0 && extended.indexOf(ch) < 0 && forcing.indexOf(ch) < 0) {
        forcing.push(ch);
      }
    });
    var gsm = forcing.length === 0;
    var costs = chars.map(function (ch) {
      if (gsm) { return extended.indexOf(ch) >= 0 ? 2 : 1; }
      return ch.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var units = costs.reduce(function (a, b) { return a + b; }, 0);
    var single = gsm ? 160 : 70;
    var part = gsm ? 153 : 67;
    if (units <= single) {
      return { gsm: gsm, units: units, segments: units ? 1 : 0, per: single,
               left: single - units, forcing: forcing };
    }
    var segments = 1;
    var used = 0;
    costs.forEach(function (cost) {
      if (used + cost > part) { segments += 1; used = 0; }
      used += cost;
    });
    return { gsm: gsm, units: units, segments: segments, per: part, left: part - used,
             forcing: forcing };
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, name) { return String(values[name]); });
  }

  document.querySelectorAll("[data-sms-text]").forEach(function (area) {
    var out = document.querySelector('[data-sms-count-for="' + area.getAttribute("data-sms-text") + '"]');
    if (!out) { return; }
    var basic = out.getAttribute("data-gsm-basic");
    var extended = out.getAttribute("data-gsm-extended");
    function update() {
      var c = count(area.value, basic, extended);
      var values = { units: c.units, segments: c.segments, per: c.per, left: c.left,
                     chars: c.forcing.slice(0, 5).join(" ") };
      out.textContent = fill(out.getAttribute(c.gsm ? "data-text-gsm" : "data-text-ucs"), values);
      out.classList.toggle("ucs2", !c.gsm);
    }
    area.addEventListener("input", update);
    update();
  });
}());
