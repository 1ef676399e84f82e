// Single Sign-On hand-off: post the refresh token to the client application at once.
// Without script the visible Continue button does the same.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("sso-handoff");
  if (form) {
    form.submit();
  }
});
