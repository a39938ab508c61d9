// Accessibility fixes for markup the theme and its extensions write (served from _static by
// nkreport.build.reading; checked by axe-core in tests/book/test_reader.py).
document.addEventListener("DOMContentLoaded", () => {
  // An accessible name must contain the visible text (WCAG 2.5.3): the code toggles read
  // "Show code cell source" but were labelled "Toggle hidden content"; the colour-mode button's
  // label hid the names of its icons.
  document.querySelectorAll("summary[aria-label], .theme-switch-button[aria-label]").forEach((element) => {
    element.removeAttribute("aria-label");
  });
  // A list's children must be list items: the bibliography's entries are not.
  document.querySelectorAll(".citation-list[role='list']").forEach((element) => {
    element.removeAttribute("role");
  });
});
