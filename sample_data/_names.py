"""Name pools for the fictional Maplewood district (all people are invented).

Each pool has family names, children's and adults' given names, and the language its families most
often prefer for messages (only `en`, `es`, `vi` and `zh` are used). Names that the deliberate
duplicate and twin cases use (Smith, Patel, Ramirez, Jonathan, Katherine, Wei, ...) are kept out of
the pools so that no random student can be mistaken for them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pool:
    name: str
    language: str
    families: tuple[str, ...]
    girls: tuple[str, ...]
    boys: tuple[str, ...]
    women: tuple[str, ...]
    men: tuple[str, ...]


GENERAL_GIRLS = (
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily", "Ella", "Chloé", "Zoë", "Aaliyah", "Layla", "Nora", "Hazel",
    "Aurora", "Grace", "Lily", "Riley", "Stella",
)  # fmt: skip
GENERAL_BOYS = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Mason", "Ethan", "Daniel", "Logan", "Jackson", "Levi", "Sebastian", "Jack",
    "Owen", "Samuel", "Caleb", "Isaac", "Wyatt", "Miles",
)  # fmt: skip
GENERAL_WOMEN = (
    "Jennifer", "Sarah", "Jessica", "Michelle", "Amanda", "Melissa", "Rebecca", "Laura",
    "Stephanie", "Nicole", "Rachel", "Heather", "Andrea", "Megan",
)  # fmt: skip
GENERAL_MEN = (
    "Michael", "David", "Christopher", "Matthew", "Joshua", "Andrew", "Brian", "Kevin", "Jason",
    "Ryan", "Eric", "Timothy", "Gregory", "Patrick",
)  # fmt: skip
MIDDLE_NAMES = ("Marie", "James", "Rose", "Lee", "Ann", "Michael", "Grace", "Ray", "Jean", "Alan")

POOLS = (
    Pool(
        "anglo", "en",
        ("Anderson", "Brooks", "Campbell", "Carter", "Collins", "Cooper", "Edwards", "Foster",
         "Gray", "Hughes", "Kelly", "Morgan", "Murphy", "Parker", "Reed", "Russell", "Sullivan",
         "Turner", "Walsh", "Ward", "O'Brien", "Fitzgerald", "MacDonald", "Bennett", "Hayes"),
        ("Madison", "Avery", "Claire", "Addison", "Brooklyn", "Savannah", "Paisley"),
        ("Carter", "Hudson", "Grayson", "Connor", "Declan", "Wesley", "Everett"),
        ("Kimberly", "Lisa", "Amy", "Erin", "Kristen", "Shannon"),
        ("Scott", "Jeffrey", "Sean", "Travis", "Derek", "Kyle"),
    ),
    Pool(
        "hispanic", "es",
        ("García", "Hernández", "López", "Martínez", "Rodríguez", "González", "Pérez",
         "Sánchez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales", "Reyes",
         "Ortiz", "Castillo", "Núñez", "Vargas"),
        ("Valentina", "Camila", "Lucía", "Ximena", "Daniela", "Renata", "Mariana", "Sofía"),
        ("Santiago", "Diego", "Emiliano", "Joaquín", "Leonardo", "Adrián", "Gael", "Andrés"),
        ("María", "Guadalupe", "Rosa", "Carmen", "Alejandra", "Verónica", "Patricia"),
        ("José", "Juan", "Luis", "Carlos", "Jorge", "Miguel", "Ricardo"),
    ),
    Pool(
        "vietnamese", "vi",
        ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Huynh", "Phan", "Vu", "Vo", "Dang", "Bui", "Do"),
        ("Linh", "Mai", "Thao", "Ngoc", "Anh", "Trang", "Vy"),
        ("Minh", "Duc", "Khoa", "Bao", "Huy", "Tuan", "Phuc"),
        ("Hoa", "Lan", "Thu", "Hanh", "Huong", "Nga"),
        ("Dung", "Hung", "Thanh", "Long", "Quang", "Son"),
    ),
    Pool(
        "chinese", "zh",
        ("Wang", "Li", "Zhang", "Liu", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Lin", "Xu", "Guo"),
        ("Mei", "Xinyi", "Yuxuan", "Jing", "Ruoxi", "Yutong", "Lingling"),
        ("Hao", "Jun", "Yichen", "Zihan", "Haoran", "Bowen", "Tao"),
        ("Xiaoling", "Yan", "Fang", "Hui", "Ling", "Qing"),
        ("Jian", "Lei", "Ming", "Qiang", "Gang", "Feng"),
    ),
    Pool(
        "african_american", "en",
        ("Washington", "Jefferson", "Jackson", "Robinson", "Harris", "Coleman", "Jenkins",
         "Bryant", "Simmons", "Banks", "Freeman", "Greene"),
        ("Imani", "Nia", "Jada", "Kiara", "Aniyah", "Zuri", "Destiny"),
        ("Malik", "Jamal", "Darius", "Terrell", "Andre", "Isaiah", "Marcus"),
        ("Keisha", "Tanya", "Latoya", "Monique", "Ebony", "Tamika"),
        ("Dwayne", "Terrence", "Darnell", "Reginald", "Curtis", "Maurice"),
    ),
    Pool(
        "south_asian", "en",
        ("Sharma", "Singh", "Gupta", "Reddy", "Iyer", "Kapoor", "Desai", "Mehta", "Rao",
         "Chaudhry"),
        ("Ananya", "Diya", "Saanvi", "Ishani", "Priya", "Aanya", "Riya"),
        ("Aarav", "Vihaan", "Rohan", "Ishaan", "Aditya", "Kabir", "Dev"),
        ("Deepa", "Sunita", "Kavita", "Anjali", "Pooja", "Meera"),
        ("Rajesh", "Sanjay", "Vikram", "Amit", "Rahul", "Suresh"),
    ),
    Pool(
        "african", "en",
        ("Okafor", "Mensah", "Abebe", "Tesfaye", "Mwangi", "Haile", "Osei", "Adeyemi", "Kamau",
         "Bekele"),
        ("Amara", "Chiamaka", "Abena", "Makeda", "Wanjiru", "Adaeze", "Selam"),
        ("Kwame", "Chidi", "Tariku", "Kofi", "Jomo", "Emeka", "Dawit"),
        ("Ngozi", "Akosua", "Tigist", "Wambui", "Folake", "Hirut"),
        ("Oluwaseun", "Yaw", "Tesfaye", "Kariuki", "Chukwuma", "Getachew"),
    ),
    Pool(
        "middle_eastern", "en",
        ("Haddad", "Khoury", "Nasser", "Farah", "Saleh", "Rahimi", "Karimi", "Aziz", "Mansour",
         "Hamdan"),
        ("Layan", "Yasmin", "Noor", "Leila", "Salma", "Dana", "Rania"),
        ("Omar", "Karim", "Yusuf", "Zayd", "Rami", "Tariq", "Sami"),
        ("Fatima", "Samira", "Huda", "Rana", "Nadia", "Maha"),
        ("Ahmad", "Khalid", "Hassan", "Walid", "Nabil", "Fadi"),
    ),
    Pool(
        "european", "en",
        ("Müller", "Schmidt", "Novak", "Kowalski", "Rossi", "Bianchi", "Jensen", "Larsen",
         "Dubois", "Lefèvre", "Ivanova", "Horváth"),
        ("Elena", "Giulia", "Freya", "Anja", "Mila", "Élodie", "Ingrid"),
        ("Luca", "Matteo", "Björn", "Jakub", "Nikolai", "Théo", "Anton"),
        ("Katarzyna", "Francesca", "Birgit", "Sabine", "Monika", "Agnès"),
        ("Stefan", "Marco", "Lars", "Tomasz", "Pierre", "Dmitri"),
    ),
)  # fmt: skip

# How often each pool's families occur (same order as POOLS).
POOL_WEIGHTS = (26, 22, 10, 8, 12, 8, 6, 4, 4)

LANGUAGES = ("en", "es", "vi", "zh")
