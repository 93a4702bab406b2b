// The menu closes on Escape and on a click outside it, as people expect of a menu.
(function () {
  var menu = document.currentScript.previousElementSibling;
  document.addEventListener('click', function (e) { if (menu.open && !menu.contains(e.target)) menu.open = false; });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && menu.open) { menu.open = false; menu.querySelector('summary').focus(); } });
})();
