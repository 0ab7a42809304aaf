module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'job-worker',
  rootDir: __dirname,
};
