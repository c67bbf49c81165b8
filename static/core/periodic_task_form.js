// The periodic task form's crontab translation: django-celery-beat's inline script as a file
// (templates/admin/djcelery/change_periodictask_form.html), so the page runs under our CSP.
"use strict";
(function () {
  const $ = django.jQuery;
  const script = document.getElementById("periodic-task-overrides");
  const readableCrontabs = JSON.parse($("#readable-crontabs").text());
  const originalCrontabHelp = script.dataset.crontabHelp;
  const updateCrontabHelp = function (additional) {
    $(".field-crontab .help").html(`${originalCrontabHelp}<br/>Translation: ${additional}`);
  };
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    updateCrontabHelp(readableCrontabs[$("#id_crontab").val()]);
  });
})();
