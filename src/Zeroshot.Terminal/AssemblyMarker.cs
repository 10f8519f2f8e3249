namespace Zeroshot.Terminal;
