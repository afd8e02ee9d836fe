// Script of the results view. It only reports choices to the extension; all content is
// rendered by the extension, escaped, with a content security policy that forbids inline code.
(function () {
  const vscode = acquireVsCodeApi();
  const select = document.getElementById('run');
  if (select) {
    vscode.setState({ run: select.value });
    select.addEventListener('change', () => {
      vscode.setState({ run: select.value });
      vscode.postMessage({ type: 'selectRun', run: select.value });
    });
  }
  for (const link of document.querySelectorAll('a.image-link')) {
    link.addEventListener('click', (event) => {
      event.preventDefault();
      vscode.postMessage({ type: 'openImage', path: link.getAttribute('data-path') });
    });
  }
})();
