/**
 * Regenerates common-passwords.txt: `npm exec -- node src/identity/password/build-blocklist.ts`.
 * Sources are the top entries of well-known public lists (SplashData/NordPass yearly top lists, the
 * RockYou and "10k most common" lists, keyboard walks, Japanese romaji favourites), expanded with the
 * mutations credential-stuffing lists are full of (digits, years, a trailing "!", capitalised). Only
 * entries of 8+ characters are kept: shorter passwords are refused by length already.
 */
import { writeFileSync } from 'node:fs';

const BASE_WORDS = `password passw0rd p@ssword p@ssw0rd qwerty qwertyuiop asdfgh asdfghjkl zxcvbn zxcvbnm qazwsx qwaszx 1qaz2wsx
1q2w3e4r 1q2w3e4r5t zaq12wsx abc123 abcd1234 iloveyou iloveu princess sunshine shadow monkey dragon football baseball soccer
superman batman letmein welcome welcome1 master trustno1 starwars whatever freedom michael jennifer jordan hunter ranger
buster thomas tigger robert soccer harley hockey killer george charlie andrew michelle jessica pepper daniel access
joshua maggie mustang computer amanda summer love ashley nicole chelsea biteme matthew yankees dallas austin thunder
taylor matrix minecraft pokemon naruto doraemon pikachu hello hello123 hellokitty secret secret123 admin admin123
administrator root toor guest login changeme default internet samsung google facebook twitter instagram linkedin apple
iphone android microsoft windows yahoo gmail hotmail outlook amazon rakuten docomo softbank sakura tokyo osaka nagoya
kyoto yokohama japan nippon nihon ganbare arigato sayonara konnichiwa kawaii daisuki aishiteru tanaka suzuki sato takahashi
watanabe ito yamamoto nakamura kobayashi kato yoshida yamada sasaki yamaguchi matsumoto inoue kimura hayashi shimizu
hiroshi takashi takeshi kenji yuki yuka yumi akira haruka hikari sakurako naoki daisuke ryota shota kaito hinata sora
tsubasa pocari asahi kirin sapporo ramen sushi tempura totoro ghibli gundam evangelion onepiece dragonball
sevenpay seven eleven 7eleven seveneleven lawson familymart paypay linepay rakutenpay aupay merpay suica pasmo nanaco waon
money cash payment wallet shopping bitcoin ethereum crypto banking mybank account
blink182 metallica nirvana eminem beatles slipknot linkinpark
purple orange yellow silver golden diamond crystal flower butterfly rainbow angel angels baby babygirl babyboy
lovely loveme lover lovers forever family friends friend mother father sister brother daddy mommy jesus christ god
heaven blessed faith hope peace happy smile cookie chocolate cheese pizza banana apple123 cherry strawberry
tiger lion eagle falcon wolf bear shark panther jaguar cobra snake spider scorpion phoenix unicorn
ninja samurai shinobi sensei otaku anime manga cosplay gamer player gaming
qwerty123 123qwe qwe123 q1w2e3r4 a1b2c3d4 1a2b3c4d aa123456 a123456 asd123 zxc123 qweasd qweasdzxc
princess1 monkey1 dragon1 shadow1 sunshine1 iloveyou1 football1 baseball1 superman1 password1 password12
`.split(/\s+/).filter((w) => w !== '');

const NUMERIC = ['12345678', '123456789', '1234567890', '0123456789', '87654321', '987654321', '11111111', '00000000', '22222222',
  '33333333', '44444444', '55555555', '66666666', '77777777', '88888888', '99999999', '12121212', '11223344', '12341234',
  '13579246', '24682468', '1234554321', '1111111111', '0987654321', '147258369', '159753852', '741852963', '963852741',
  '31415926', '314159265', '20202020', '19191919', '01234567', '12344321', '11112222', '12312312', '45678910', '99998888',
  '10203040', '13131313', '69696969', '52013140', '5201314520', '25802580', '80808080', '10101010'];

const KEYBOARD = ['qwertyui', 'qwertyuio', 'asdfghjk', 'zxcvbnm,', '1qazxsw2', 'qazxswedc', 'zaqxswcde', '!qaz2wsx', '1qaz@wsx',
  '1qaz!qaz', 'qwerasdf', 'asdfqwer', 'qwer1234', 'asdf1234', 'zxcv1234', '1234qwer', '1234asdf', 'qwertz123', 'azertyuiop',
  'poiuytrewq', 'mnbvcxz', 'lkjhgfdsa', 'q1w2e3r4t5', 'q1w2e3r4t5y6', '1q2w3e4r5t6y', 'zaq1xsw2', 'xsw2zaq1', '!@#$%^&*',
  '!@#$%^&*()', '1234!@#$', 'qwe!@#123', 'abcdefgh', 'abcdefghi', 'abcdefghij', 'aaaaaaaa', 'abcabcabc', 'passpass', 'testtest',
  'test1234', 'test12345', 'demo1234', 'user1234', 'guest1234', 'iloveyou!', 'letmein1', 'letmein!', 'welcome!', 'welcome123',
  'changeme1', 'changeme!', 'default1', 'password!', 'password1!', 'password123!', 'p4ssw0rd', 'pa55word', 'pa$$word', 'passwort',
  'motdepasse', 'contraseña', 'contrasena', 'senha123', 'parola123', 'wachtwoord', 'salasana', 'haslo123', 'pasuwado', 'pasuwaado'];

const SUFFIXES = ['', '1', '12', '123', '1234', '12345', '123456', '!', '1!', '123!', '01', '007', '69', '88', '99', '777', '000', '111', '321', '@123', '#1', '_123'];
const YEARS = Array.from({ length: 2026 - 1960 + 1 }, (_, i) => String(1960 + i));
const LENGTH_MIN = 8;

function capitalised(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function variants(word: string): string[] {
  const out: string[] = [];
  for (const base of [word, capitalised(word), word.toUpperCase()]) {
    for (const suffix of SUFFIXES) out.push(base + suffix);
    for (const year of YEARS) out.push(base + year);
  }
  return out;
}

export function buildBlocklist(): string[] {
  const all = new Set<string>();
  for (const word of [...NUMERIC, ...KEYBOARD]) all.add(word.toLowerCase());
  for (const word of BASE_WORDS) for (const variant of variants(word)) all.add(variant.toLowerCase());
  return [...all].filter((entry) => [...entry].length >= LENGTH_MIN).sort();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const entries = buildBlocklist();
  const header = '# Common and breached passwords (lower-cased, 8+ characters). Generated by build-blocklist.ts; do not edit by hand.';
  writeFileSync(new URL('./common-passwords.txt', import.meta.url), `${header}\n${entries.join('\n')}\n`);
  process.stdout.write(`${entries.length} entries\n`);
}
